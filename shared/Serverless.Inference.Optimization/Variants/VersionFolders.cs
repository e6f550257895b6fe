using System.Globalization;

namespace Serverless.Inference.Optimization.Variants;

/// <summary>Where a variant goes in a model's folder, and how it gets there without ever replacing a version.</summary>
internal static class VersionFolders
{
    /// <summary>A dot-prefixed folder: no model store lists it (a version name starts with a letter or digit).</summary>
    public const string StagingPrefix = ".optimize-";

    /// <summary>The next integer after the highest numbered folder in <paramref name="modelFolder"/>; "1" when there is none.</summary>
    public static string Next(string modelFolder)
    {
        var highest = Directory.EnumerateDirectories(modelFolder)
            .Select(Path.GetFileName)
            .Select(name => long.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var number) ? number : 0)
            .DefaultIfEmpty(0)
            .Max();
        return (highest + 1).ToString(CultureInfo.InvariantCulture);
    }

    public static string NewStagingFolder(string modelFolder) =>
        Directory.CreateDirectory(Path.Combine(modelFolder, StagingPrefix + Guid.NewGuid().ToString("N"))).FullName;

    /// <summary>
    /// Renames <paramref name="from"/> to <paramref name="to"/> only where nothing exists at <paramref name="to"/>: a
    /// version that appeared meanwhile is refused, never overwritten.
    /// </summary>
    /// <remarks>
    /// Directory.Move refuses an existing destination itself; between its check and the rename, rename(2) refuses a
    /// destination folder that is not empty, so at worst an empty folder (no version: it has no model.onnx) is replaced.
    /// </remarks>
    public static void MoveCreateOnly(string from, string to)
    {
        var version = Path.GetFileName(to);
        if (Directory.Exists(to) || File.Exists(to))
        {
            throw new OptimizationException($"version {version} appeared while the variant was made; it was left as it is and nothing was published");
        }

        try
        {
            Directory.Move(from, to);
        }
        catch (IOException e) when (Directory.Exists(to) || File.Exists(to))
        {
            throw new OptimizationException($"version {version} appeared while the variant was made; it was left as it is and nothing was published", e);
        }
    }
}

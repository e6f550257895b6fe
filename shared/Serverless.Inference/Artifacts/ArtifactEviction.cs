using Microsoft.Extensions.Logging;

namespace Serverless.Inference.Artifacts;

/// <summary>
/// Removes cache entries by age and size. An entry is a slot folder (a downloaded file and its recorded hash)
/// or a derived file; its last use is its newest modification time, which the cache touches on first use per
/// process. Only names the cache itself writes are considered, so nothing else in the folder is ever removed.
/// </summary>
internal static partial class ArtifactEviction
{
    private const int SlotNameLength = 32;
    private const string DerivedFolder = "derived";

    /// <param name="inUse">Paths this process uses; their entries (and their temporary files) are never removed.</param>
    /// <param name="unusedSince">Entries last used before this are removed.</param>
    /// <param name="budget">The bytes the cache may keep, given the bytes it holds after removing the old entries.</param>
    public static void Run(string root, IReadOnlyCollection<string> inUse, DateTime unusedSince, Func<long, long> budget, ILogger logger)
    {
        var entries = Entries(root, [.. inUse]).ToList();
        var removed = new List<Entry>();
        var kept = new List<Entry>();
        foreach (var entry in entries)
        {
            (!entry.InUse && entry.LastUse < unusedSince && TryRemove(entry) ? removed : kept).Add(entry);
        }

        var total = kept.Sum(entry => entry.Bytes);
        var limit = budget(total);
        foreach (var entry in kept.Where(entry => !entry.InUse).OrderBy(entry => entry.LastUse))
        {
            if (total <= limit)
            {
                break;
            }

            if (TryRemove(entry))
            {
                total -= entry.Bytes;
                removed.Add(entry);
            }
        }

        if (removed.Count > 0)
        {
            var removedBytes = removed.Sum(entry => entry.Bytes);
            LogRemoved(logger, removed.Count, removedBytes, root, total, limit);
        }
    }

    private static IEnumerable<Entry> Entries(string root, HashSet<string> inUse)
    {
        var folders = inUse.Select(Path.GetDirectoryName).ToHashSet(StringComparer.Ordinal);
        foreach (var slot in new DirectoryInfo(root).EnumerateDirectories())
        {
            if (IsHash(slot.Name) && Describe(slot, folders.Contains(slot.FullName)) is { } entry)
            {
                yield return entry;
            }
        }

        var derived = new DirectoryInfo(Path.Combine(root, DerivedFolder));
        if (!derived.Exists)
        {
            yield break;
        }

        foreach (var file in derived.EnumerateFiles())
        {
            if (file.Name.Length > SlotNameLength && file.Name[SlotNameLength] == '-' && IsHash(file.Name[..SlotNameLength]))
            {
                var published = file.Name.IndexOf(".part-", StringComparison.Ordinal) is var part and >= 0
                    ? file.FullName[..(file.FullName.Length - file.Name.Length + part)]
                    : file.FullName;
                yield return new Entry(file, file.Length, file.LastWriteTimeUtc, inUse.Contains(published));
            }
        }
    }

    private static Entry? Describe(DirectoryInfo slot, bool inUse)
    {
        try
        {
            var files = slot.GetFiles();
            var lastUse = files.Length == 0 ? slot.LastWriteTimeUtc : files.Max(file => file.LastWriteTimeUtc);
            return new Entry(slot, files.Sum(file => file.Length), lastUse, inUse);
        }
        catch (IOException)
        {
            // Removed by another process meanwhile.
            return null;
        }
    }

    private static bool TryRemove(Entry entry)
    {
        try
        {
            if (entry.Item is DirectoryInfo folder)
            {
                folder.Delete(recursive: true);
            }
            else
            {
                entry.Item.Delete();
            }

            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Open elsewhere (Windows) or removed by another process meanwhile: either way, not ours to count.
            return false;
        }
    }

    private static bool IsHash(string name) =>
        name.Length == SlotNameLength && name.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f');

    [LoggerMessage(Level = LogLevel.Information, Message = "Artifact cache removed {Count} entries ({Bytes} bytes) from {Folder}; {Remaining} bytes remain of a {Budget} byte budget")]
    private static partial void LogRemoved(ILogger logger, int count, long bytes, string folder, long remaining, long budget);

    private sealed record Entry(FileSystemInfo Item, long Bytes, DateTime LastUse, bool InUse);
}

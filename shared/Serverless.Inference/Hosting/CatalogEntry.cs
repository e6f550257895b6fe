using Serverless.Inference.Repository;

namespace Serverless.Inference.Hosting;

/// <summary>What the store said about a model: its manifest and version folders, and when to ask again.</summary>
internal sealed record CatalogEntry(string Name, ModelManifest Manifest, string ManifestIdentity, IReadOnlyList<string> Versions, DateTimeOffset RefreshAt)
{
    public string? DefaultVersionOrNull() => TryResolve(null);

    /// <summary>The version a request for <paramref name="requested"/> resolves to, or null where it fails.</summary>
    public string? TryResolve(string? requested)
    {
        try
        {
            return Resolve(requested);
        }
        catch (InferenceException)
        {
            return null;
        }
    }

    /// <param name="requested">A version folder, an alias, or null for the manifest's default.</param>
    public string Resolve(string? requested)
    {
        var wanted = requested ?? Manifest.DefaultVersion;
        if (wanted is null)
        {
            return Versions.Count > 0
                ? Versions[^1]
                : throw new InferenceException(InferenceErrorKind.Unavailable, $"model '{Name}' has no version folder with a {ModelFilePath.ModelFileName}");
        }

        var version = Manifest.Aliases.TryGetValue(wanted, out var aliased) ? aliased : wanted;
        return Versions.Contains(version, StringComparer.Ordinal)
            ? version
            : requested is null
                ? throw new InferenceException(InferenceErrorKind.Unavailable, $"model '{Name}' names default version '{wanted}', which does not exist")
                : throw InferenceException.NotFound($"model '{Name}' has no version '{requested}' (versions: {string.Join(", ", Versions)})");
    }
}

using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Serverless.Inference.Repository;

/// <summary>A model repository in a local folder. A file's identity is the SHA-256 of its content,
/// remembered per (length, last write time) so each file is hashed once per change.</summary>
public sealed class LocalFolderModelStore : ILocalModelStore
{
    private readonly string _root;
    private readonly ConcurrentDictionary<string, (long Length, DateTime Written, string Identity)> _hashes = new();

    public LocalFolderModelStore(string root)
    {
        _root = Path.GetFullPath(root);
    }

    public string Description => _root;

    public Task<IReadOnlyList<string>> ListModelsAsync(CancellationToken cancellationToken)
    {
        if (!Directory.Exists(_root))
        {
            throw new InferenceException(InferenceErrorKind.Unavailable, $"the model repository folder '{_root}' does not exist");
        }

        IReadOnlyList<string> names = [.. Directory.EnumerateDirectories(_root)
            .Select(Path.GetFileName)
            .Where(name => ModelNames.IsValid(name) && File.Exists(Path.Combine(_root, name!, ModelFilePath.ManifestFileName)))
            .Select(name => name!)
            .Order(StringComparer.Ordinal)];
        return Task.FromResult(names);
    }

    public Task<IReadOnlyList<string>> ListVersionsAsync(string model, CancellationToken cancellationToken)
    {
        var folder = Path.Combine(_root, ModelNames.Require(model, "model name"));
        IReadOnlyList<string> versions = !Directory.Exists(folder)
            ? []
            : [.. Directory.EnumerateDirectories(folder)
                .Select(Path.GetFileName)
                .Where(version => ModelNames.IsValid(version) && File.Exists(Path.Combine(folder, version!, ModelFilePath.ModelFileName)))
                .Select(version => version!)];
        return Task.FromResult(versions);
    }

    public async Task<StoredFile?> StatAsync(ModelFilePath path, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(_root))
        {
            throw new InferenceException(InferenceErrorKind.Unavailable, $"the model repository folder '{_root}' does not exist");
        }

        var info = new FileInfo(GetLocalPath(path));
        if (!info.Exists)
        {
            return null;
        }

        var key = info.FullName;
        if (_hashes.TryGetValue(key, out var known) && known.Length == info.Length && known.Written == info.LastWriteTimeUtc)
        {
            return new StoredFile(path, known.Identity, info.Length);
        }

        await using var stream = new FileStream(key, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16, useAsync: true);
        var hash = await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false);
        var identity = "sha256:" + Convert.ToHexStringLower(hash);
        _hashes[key] = (info.Length, info.LastWriteTimeUtc, identity);
        return new StoredFile(path, identity, info.Length);
    }

    public Task<Stream> OpenReadAsync(ModelFilePath path, CancellationToken cancellationToken) =>
        Task.FromResult<Stream>(new FileStream(GetLocalPath(path), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16, useAsync: true));

    public string GetLocalPath(ModelFilePath path) =>
        path.Version is null
            ? Path.Combine(_root, path.Model, path.FileName)
            : Path.Combine(_root, path.Model, path.Version, path.FileName);
}


namespace Serverless.Inference.Repository;

/// <summary>A model repository in a local folder. A file's identity is the SHA-256 of its content.</summary>
public sealed class LocalFolderModelStore : ILocalModelStore
{
    private readonly string _root;
    private readonly ContentIdentities _identities = new();

    public LocalFolderModelStore(string root)
    {
        _root = Path.GetFullPath(root);
    }

    public string Description => _root;

    public Task<IReadOnlyList<string>> ListModelsAsync(CancellationToken cancellationToken)
    {
        if (!Directory.Exists(_root))
        {
            throw new InferenceException(InferenceErrorKind.Unavailable, "the model repository folder does not exist") { Detail = _root };
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
            throw new InferenceException(InferenceErrorKind.Unavailable, "the model repository folder does not exist") { Detail = _root };
        }

        var info = new FileInfo(GetLocalPath(path));
        if (!info.Exists)
        {
            return null;
        }

        var identity = await _identities.GetAsync(info, cancellationToken).ConfigureAwait(false);
        return new StoredFile(path, identity, info.Length);
    }

    public Task<Stream> OpenReadAsync(ModelFilePath path, CancellationToken cancellationToken) =>
        Task.FromResult<Stream>(new FileStream(GetLocalPath(path), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16, useAsync: true));

    string? ILocalModelStore.FindLocalPath(ModelFilePath path) => GetLocalPath(path);

    public string GetLocalPath(ModelFilePath path) =>
        path.Version is null
            ? Path.Combine(_root, path.Model, path.FileName)
            : Path.Combine(_root, path.Model, path.Version, path.FileName);
}

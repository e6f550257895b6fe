namespace Serverless.Inference.Repository;

/// <summary>
/// Models packaged with a function (a folder in its deployment package or a layer) in front of a remote store: a model
/// whose manifest is in the packaged folder is served wholly from it (manifest, versions, assets) and never looked
/// up remotely; every other model comes from <paramref name="store"/>. Packaged files are read in place, not copied
/// into the artifact cache. The folder is read-only where functions run, so a model's side is decided once per call
/// by whether its manifest is there.
/// </summary>
public sealed class PackagedFirstModelStore(string packagedFolder, IModelStore store) : ILocalModelStore
{
    private readonly LocalFolderModelStore _packaged = new(packagedFolder);

    public string Description => $"{_packaged.Description} (packaged models), then {store.Description}";

    public async Task<IReadOnlyList<string>> ListModelsAsync(CancellationToken cancellationToken)
    {
        var packaged = await _packaged.ListModelsAsync(cancellationToken).ConfigureAwait(false);
        var remote = await store.ListModelsAsync(cancellationToken).ConfigureAwait(false);
        return [.. packaged.Union(remote, StringComparer.Ordinal).Order(StringComparer.Ordinal)];
    }

    public Task<IReadOnlyList<string>> ListVersionsAsync(string model, CancellationToken cancellationToken) =>
        IsPackaged(model) ? _packaged.ListVersionsAsync(model, cancellationToken) : store.ListVersionsAsync(model, cancellationToken);

    public Task<StoredFile?> StatAsync(ModelFilePath path, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(path);
        return IsPackaged(path.Model) ? _packaged.StatAsync(path, cancellationToken) : store.StatAsync(path, cancellationToken);
    }

    public Task<Stream> OpenReadAsync(ModelFilePath path, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(path);
        return IsPackaged(path.Model) ? _packaged.OpenReadAsync(path, cancellationToken) : store.OpenReadAsync(path, cancellationToken);
    }

    string? ILocalModelStore.FindLocalPath(ModelFilePath path) =>
        IsPackaged(path.Model) ? _packaged.GetLocalPath(path) : (store as ILocalModelStore)?.FindLocalPath(path);

    private bool IsPackaged(string model) =>
        File.Exists(_packaged.GetLocalPath(ModelFilePath.Manifest(ModelNames.Require(model, "model name"))));
}

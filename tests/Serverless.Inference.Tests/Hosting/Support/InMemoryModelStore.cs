using System.Collections.Concurrent;
using Serverless.Inference.Repository;

namespace Serverless.Inference.Tests.Hosting.Support;

/// <summary>
/// A remote-like store (not an <see cref="ILocalModelStore"/>): files live in a dictionary with an identity the
/// test chooses, downloads are counted, and can be held back or cut short.
/// </summary>
internal sealed class InMemoryModelStore : IModelStore
{
    private readonly ConcurrentDictionary<string, (ModelFilePath Path, byte[] Content, string Identity)> _files = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _opens = new(StringComparer.Ordinal);

    public string Description => "memory://test-store";

    /// <summary>Awaited by every <see cref="OpenReadAsync"/> call before the stream is handed out.</summary>
    public Func<ModelFilePath, Task>? BeforeOpen { get; set; }

    /// <summary>When set, downloads stop after this many bytes although <see cref="StatAsync"/> reports the full length.</summary>
    public int? TruncateTo { get; set; }

    public void Put(ModelFilePath path, byte[] content, string identity) =>
        _files[path.ToString()] = (path, content, identity);

    public void PutManifest(string model, string json, string identity) =>
        Put(ModelFilePath.Manifest(model), System.Text.Encoding.UTF8.GetBytes(json), identity);

    public void PutModel(string model, string version, byte[] onnx, string identity) =>
        Put(ModelFilePath.Onnx(model, version), onnx, identity);

    public int OpenCount(ModelFilePath path) => _opens.GetValueOrDefault(path.ToString());

    public Task<IReadOnlyList<string>> ListModelsAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<string> models = [.. _files.Values
            .Where(f => f.Path.Version is null && f.Path.FileName == ModelFilePath.ManifestFileName)
            .Select(f => f.Path.Model)
            .Order(StringComparer.Ordinal)];
        return Task.FromResult(models);
    }

    public Task<IReadOnlyList<string>> ListVersionsAsync(string model, CancellationToken cancellationToken)
    {
        IReadOnlyList<string> versions = [.. _files.Values
            .Where(f => f.Path.Model == model && f.Path.Version is not null && f.Path.FileName == ModelFilePath.ModelFileName)
            .Select(f => f.Path.Version!)];
        return Task.FromResult(versions);
    }

    public Task<StoredFile?> StatAsync(ModelFilePath path, CancellationToken cancellationToken) =>
        Task.FromResult(_files.TryGetValue(path.ToString(), out var file) ? new StoredFile(path, file.Identity, file.Content.Length) : null);

    public async Task<Stream> OpenReadAsync(ModelFilePath path, CancellationToken cancellationToken)
    {
        _opens.AddOrUpdate(path.ToString(), 1, (_, count) => count + 1);
        if (BeforeOpen is { } before)
        {
            await before(path);
        }

        if (!_files.TryGetValue(path.ToString(), out var file))
        {
            throw new FileNotFoundException(path.ToString());
        }

        var length = Math.Min(TruncateTo ?? int.MaxValue, file.Content.Length);
        return new MemoryStream(file.Content, 0, length, writable: false);
    }
}

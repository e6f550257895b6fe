using System.Collections.Concurrent;
using Serverless.Inference.Repository;

namespace Serverless.Inference.Tests.Hosting.Support;

/// <summary>
/// A <see cref="LocalFolderModelStore"/> that records every storage call, and can hold a <see cref="StatAsync"/>
/// call back until the test lets it go.
/// </summary>
internal sealed class CountingModelStore : ILocalModelStore
{
    private readonly LocalFolderModelStore _inner;
    private readonly ConcurrentQueue<string> _calls = new();

    public CountingModelStore(string root)
    {
        _inner = new LocalFolderModelStore(root);
    }

    public string Description => _inner.Description;

    /// <summary>Awaited at the start of every <see cref="StatAsync"/> call.</summary>
    public Func<ModelFilePath, Task>? BeforeStat { get; set; }

    /// <summary>Every call so far, as "stat m/1/model.onnx", "list-models", "list-versions m", "open m/model.json".</summary>
    public IReadOnlyCollection<string> Calls => _calls;

    public int CallCount => _calls.Count;

    public int Count(string call) => _calls.Count(c => c == call);

    public void ClearCalls() => _calls.Clear();

    public Task<IReadOnlyList<string>> ListModelsAsync(CancellationToken cancellationToken)
    {
        _calls.Enqueue("list-models");
        return _inner.ListModelsAsync(cancellationToken);
    }

    public Task<IReadOnlyList<string>> ListVersionsAsync(string model, CancellationToken cancellationToken)
    {
        _calls.Enqueue("list-versions " + model);
        return _inner.ListVersionsAsync(model, cancellationToken);
    }

    public async Task<StoredFile?> StatAsync(ModelFilePath path, CancellationToken cancellationToken)
    {
        _calls.Enqueue("stat " + path);
        if (BeforeStat is { } before)
        {
            await before(path);
        }

        return await _inner.StatAsync(path, cancellationToken);
    }

    public Task<Stream> OpenReadAsync(ModelFilePath path, CancellationToken cancellationToken)
    {
        _calls.Enqueue("open " + path);
        return _inner.OpenReadAsync(path, cancellationToken);
    }

    /// <summary>Path arithmetic only, no storage access, so not recorded.</summary>
    public string? FindLocalPath(ModelFilePath path) => ((ILocalModelStore)_inner).FindLocalPath(path);
}

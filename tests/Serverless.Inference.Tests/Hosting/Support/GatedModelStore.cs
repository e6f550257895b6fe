using System.Collections.Concurrent;
using Serverless.Inference.Repository;

namespace Serverless.Inference.Tests.Hosting.Support;

/// <summary>
/// A remote-like store over another one that records every call, and can hold all calls back until the test lets
/// them go (<see cref="Block"/>) or fail them (<see cref="Failure"/>).
/// </summary>
internal sealed class GatedModelStore : IModelStore
{
    private readonly IModelStore _inner;
    private readonly ConcurrentQueue<string> _calls = new();
    private TaskCompletionSource? _blocked;

    public GatedModelStore(IModelStore inner)
    {
        _inner = inner;
    }

    public string Description => "gated:" + _inner.Description;

    /// <summary>Thrown by every call while set.</summary>
    public Exception? Failure { get; set; }

    /// <summary>Every call so far, as "stat m/1/model.onnx", "list-models", "list-versions m", "open m/model.json".</summary>
    public IReadOnlyCollection<string> Calls => _calls;

    public int Count(string call) => _calls.Count(c => c == call);

    /// <summary>From now on every call waits until <see cref="Unblock"/>.</summary>
    public void Block() => Interlocked.CompareExchange(ref _blocked, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), null);

    public void Unblock() => Interlocked.Exchange(ref _blocked, null)?.TrySetResult();

    public async Task<IReadOnlyList<string>> ListModelsAsync(CancellationToken cancellationToken)
    {
        await EnterAsync("list-models", cancellationToken);
        return await _inner.ListModelsAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<string>> ListVersionsAsync(string model, CancellationToken cancellationToken)
    {
        await EnterAsync("list-versions " + model, cancellationToken);
        return await _inner.ListVersionsAsync(model, cancellationToken);
    }

    public async Task<StoredFile?> StatAsync(ModelFilePath path, CancellationToken cancellationToken)
    {
        await EnterAsync("stat " + path, cancellationToken);
        return await _inner.StatAsync(path, cancellationToken);
    }

    public async Task<Stream> OpenReadAsync(ModelFilePath path, CancellationToken cancellationToken)
    {
        await EnterAsync("open " + path, cancellationToken);
        return await _inner.OpenReadAsync(path, cancellationToken);
    }

    private async Task EnterAsync(string call, CancellationToken cancellationToken)
    {
        _calls.Enqueue(call);
        if (Volatile.Read(ref _blocked) is { } blocked)
        {
            await blocked.Task.WaitAsync(cancellationToken);
        }

        if (Failure is { } failure)
        {
            throw failure;
        }
    }
}

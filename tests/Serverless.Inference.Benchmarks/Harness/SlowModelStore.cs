using Serverless.Inference.Repository;

namespace Serverless.Inference.Benchmarks.Harness;

/// <summary>
/// A store over a local folder that answers every call after a fixed delay, as Blob or S3 round trips would, and
/// counts the calls. Not an <see cref="ILocalModelStore"/>: files are copied through the artifact cache, as remote ones are.
/// </summary>
internal sealed class SlowModelStore(string root, TimeSpan delay) : IModelStore
{
    private readonly LocalFolderModelStore _inner = new(root);
    private int _calls;

    public string Description => Report.Invariant($"slow({delay.TotalMilliseconds:F0} ms):{_inner.Description}");

    public int Calls => Volatile.Read(ref _calls);

    public async Task<IReadOnlyList<string>> ListModelsAsync(CancellationToken cancellationToken)
    {
        await EnterAsync(cancellationToken);
        return await _inner.ListModelsAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<string>> ListVersionsAsync(string model, CancellationToken cancellationToken)
    {
        await EnterAsync(cancellationToken);
        return await _inner.ListVersionsAsync(model, cancellationToken);
    }

    public async Task<StoredFile?> StatAsync(ModelFilePath path, CancellationToken cancellationToken)
    {
        await EnterAsync(cancellationToken);
        return await _inner.StatAsync(path, cancellationToken);
    }

    public async Task<Stream> OpenReadAsync(ModelFilePath path, CancellationToken cancellationToken)
    {
        await EnterAsync(cancellationToken);
        return await _inner.OpenReadAsync(path, cancellationToken);
    }

    private async Task EnterAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        if (delay > TimeSpan.Zero)
        {
            await Task.Delay(delay, cancellationToken);
        }
    }
}

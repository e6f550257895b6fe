using Serverless.Inference.Batch;

namespace Serverless.Inference.Tests.Monitoring.Support;

/// <summary>A real store whose creates wait for a gate: a store slower than the traffic, without a network to slow down.</summary>
internal sealed class GatedBatchStore(IBatchStore inner, SemaphoreSlim gate) : IBatchStore
{
    public string Description => inner.Description;

    public async Task<bool> CreateAsync(string key, Stream content, CancellationToken cancellationToken)
    {
        await gate.WaitAsync(cancellationToken);
        return await inner.CreateAsync(key, content, cancellationToken);
    }

    public Task<BatchObject?> StatAsync(string key, CancellationToken cancellationToken) => inner.StatAsync(key, cancellationToken);

    public Task<Stream> OpenReadAsync(BatchObject pinned, long offset, long? length, CancellationToken cancellationToken) =>
        inner.OpenReadAsync(pinned, offset, length, cancellationToken);

    public Task<bool> ComposeAsync(string key, IReadOnlyList<BatchObject> parts, CancellationToken cancellationToken) =>
        inner.ComposeAsync(key, parts, cancellationToken);

    public Task WriteAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) => inner.WriteAsync(key, content, cancellationToken);

    public Task<bool> DeleteAsync(BatchObject pinned, CancellationToken cancellationToken) => inner.DeleteAsync(pinned, cancellationToken);

    public IAsyncEnumerable<BatchObject> ListAsync(string prefix, CancellationToken cancellationToken) => inner.ListAsync(prefix, cancellationToken);
}

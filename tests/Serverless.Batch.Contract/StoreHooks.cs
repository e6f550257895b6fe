using Serverless.Inference.Batch;

namespace Serverless.Batch.Contract;

/// <summary>
/// A store that runs a step before some of its calls: a replacement behind the runner's back at a known moment, a
/// refused create. Everything else is the real store's.
/// </summary>
public sealed class StoreHooks(IBatchStore inner) : IBatchStore
{
    /// <summary>Runs before a read of a key under incoming/, once.</summary>
    public Func<Task>? BeforeIncomingRead { get; set; }

    /// <summary>Create calls for which this returns true answer false (the key taken) without touching the store.</summary>
    public Func<string, bool>? RefuseCreate { get; set; }

    public string Description => inner.Description;

    public Task<BatchObject?> StatAsync(string key, CancellationToken cancellationToken) => inner.StatAsync(key, cancellationToken);

    public async Task<Stream> OpenReadAsync(BatchObject pinned, long offset, long? length, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pinned);
        if (BeforeIncomingRead is { } hook && pinned.Key.StartsWith(BatchKey.Incoming + "/", StringComparison.Ordinal))
        {
            BeforeIncomingRead = null;
            await hook();
        }

        return await inner.OpenReadAsync(pinned, offset, length, cancellationToken);
    }

    public Task<bool> CreateAsync(string key, Stream content, CancellationToken cancellationToken) =>
        RefuseCreate?.Invoke(key) == true ? Task.FromResult(false) : inner.CreateAsync(key, content, cancellationToken);

    public Task<bool> ComposeAsync(string key, IReadOnlyList<BatchObject> parts, CancellationToken cancellationToken) => inner.ComposeAsync(key, parts, cancellationToken);

    public Task WriteAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) => inner.WriteAsync(key, content, cancellationToken);

    public Task<bool> DeleteAsync(BatchObject pinned, CancellationToken cancellationToken) => inner.DeleteAsync(pinned, cancellationToken);

    public IAsyncEnumerable<BatchObject> ListAsync(string prefix, CancellationToken cancellationToken) => inner.ListAsync(prefix, cancellationToken);
}

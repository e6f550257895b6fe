using System.Runtime.CompilerServices;
using Serverless.Inference.Batch;

namespace Serverless.Inference.Tests.Streaming.Support;

/// <summary>
/// A real local folder store with faults on demand: a create whose key matches <see cref="FailCreate"/> throws the
/// <see cref="BatchStoreException"/> an unreachable backend gives, and <see cref="BeforeCreate"/> runs first (to let
/// another writer in). Everything else is the folder store's.
/// </summary>
public sealed class FaultyBatchStore(IBatchStore inner) : IBatchStore
{
    public Func<string, bool> FailCreate { get; set; } = _ => false;

    public Func<string, Task>? BeforeCreate { get; set; }

    public int Creates { get; private set; }

    public string Description => inner.Description;

    public Task<BatchObject?> StatAsync(string key, CancellationToken cancellationToken) => inner.StatAsync(key, cancellationToken);

    public Task<Stream> OpenReadAsync(BatchObject pinned, long offset, long? length, CancellationToken cancellationToken) =>
        inner.OpenReadAsync(pinned, offset, length, cancellationToken);

    public async Task<bool> CreateAsync(string key, Stream content, CancellationToken cancellationToken)
    {
        Creates++;
        if (BeforeCreate is { } before)
        {
            await before(key);
        }

        if (FailCreate(key))
        {
            throw new BatchStoreException($"'{key}' could not be written: the store is unreachable");
        }

        return await inner.CreateAsync(key, content, cancellationToken);
    }

    public Task<bool> ComposeAsync(string key, IReadOnlyList<BatchObject> parts, CancellationToken cancellationToken) =>
        inner.ComposeAsync(key, parts, cancellationToken);

    public Task WriteAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) => inner.WriteAsync(key, content, cancellationToken);

    public Task<bool> DeleteAsync(BatchObject pinned, CancellationToken cancellationToken) => inner.DeleteAsync(pinned, cancellationToken);

    public async IAsyncEnumerable<BatchObject> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var stored in inner.ListAsync(prefix, cancellationToken))
        {
            yield return stored;
        }
    }
}

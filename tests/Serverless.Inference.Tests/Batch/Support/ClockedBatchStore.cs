using Microsoft.Extensions.Time.Testing;
using Serverless.Inference.Batch;

namespace Serverless.Inference.Tests.Batch.Support;

/// <summary>A store whose input streams move a fake clock forward on their first read: a run that takes a known time.</summary>
public sealed class ClockedBatchStore(IBatchStore inner, FakeTimeProvider time, TimeSpan firstRead) : IBatchStore
{
    public string Description => inner.Description;

    public Task<BatchObject?> StatAsync(string key, CancellationToken cancellationToken) => inner.StatAsync(key, cancellationToken);

    public async Task<Stream> OpenReadAsync(BatchObject pinned, long offset, long? length, CancellationToken cancellationToken)
    {
        var stream = await inner.OpenReadAsync(pinned, offset, length, cancellationToken);
        var advanced = false;
        return pinned.Key.StartsWith(BatchKey.Incoming + "/", StringComparison.Ordinal)
            ? new BatchReadStream(stream, _ => null, _ =>
            {
                if (!advanced)
                {
                    advanced = true;
                    time.Advance(firstRead);
                }
            })
            : stream;
    }

    public Task<bool> CreateAsync(string key, Stream content, CancellationToken cancellationToken) => inner.CreateAsync(key, content, cancellationToken);

    public Task<bool> ComposeAsync(string key, IReadOnlyList<BatchObject> parts, CancellationToken cancellationToken) => inner.ComposeAsync(key, parts, cancellationToken);

    public Task WriteAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) => inner.WriteAsync(key, content, cancellationToken);

    public Task<bool> DeleteAsync(BatchObject pinned, CancellationToken cancellationToken) => inner.DeleteAsync(pinned, cancellationToken);

    public IAsyncEnumerable<BatchObject> ListAsync(string prefix, CancellationToken cancellationToken) => inner.ListAsync(prefix, cancellationToken);
}

using Serverless.Inference.Batch;

namespace Serverless.Functions.Aws.Tests.Support;

/// <summary>
/// The real S3 store with a failure injected in front of it: after <c>allowed</c> predictions objects are created, every
/// further create under predictions/ fails as S3 failing would (a <see cref="BatchStoreException"/>), until
/// <see cref="Heal"/>. No real S3 can be made to fail after exactly k writes; everything else goes to moto unchanged.
/// </summary>
internal sealed class RefusingStore(IBatchStore inner, int allowed) : IBatchStore
{
    private int _created;
    private volatile bool _healed;

    public string Description => inner.Description;

    /// <summary>Creates refused so far.</summary>
    public int Refused { get; private set; }

    public void Heal() => _healed = true;

    public async Task<bool> CreateAsync(string key, Stream content, CancellationToken cancellationToken)
    {
        if (!_healed && key.StartsWith(LambdaContract.PredictionsPrefix, StringComparison.Ordinal))
        {
            if (_created >= allowed)
            {
                Refused++;
                throw new BatchStoreException($"could not write '{key}': 503 SlowDown");
            }

            _created++;
        }

        return await inner.CreateAsync(key, content, cancellationToken);
    }

    public Task<BatchObject?> StatAsync(string key, CancellationToken cancellationToken) => inner.StatAsync(key, cancellationToken);

    public Task<Stream> OpenReadAsync(BatchObject pinned, long offset, long? length, CancellationToken cancellationToken) =>
        inner.OpenReadAsync(pinned, offset, length, cancellationToken);

    public Task<bool> ComposeAsync(string key, IReadOnlyList<BatchObject> parts, CancellationToken cancellationToken) => inner.ComposeAsync(key, parts, cancellationToken);

    public Task WriteAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) => inner.WriteAsync(key, content, cancellationToken);

    public Task<bool> DeleteAsync(BatchObject pinned, CancellationToken cancellationToken) => inner.DeleteAsync(pinned, cancellationToken);

    public IAsyncEnumerable<BatchObject> ListAsync(string prefix, CancellationToken cancellationToken) => inner.ListAsync(prefix, cancellationToken);
}

namespace Serverless.Inference.Batch;

public static class BatchStoreExtensions
{
    /// <summary>The whole object, pinned to what <paramref name="pinned"/> describes.</summary>
    public static Task<Stream> OpenReadAsync(this IBatchStore store, BatchObject pinned, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        return store.OpenReadAsync(pinned, 0, null, cancellationToken);
    }
}

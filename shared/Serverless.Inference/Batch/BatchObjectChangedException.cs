namespace Serverless.Inference.Batch;

/// <summary>
/// The object a read or delete was pinned to was replaced or removed since it was stat'ed: the bytes at the key are not
/// the ones its identity names. The new content, if any, brings its own event.
/// </summary>
public sealed class BatchObjectChangedException : BatchStoreException
{
    public BatchObjectChangedException()
    {
    }

    public BatchObjectChangedException(string message)
        : base(message)
    {
    }

    public BatchObjectChangedException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    public static BatchObjectChangedException For(BatchObject pinned, Exception? inner = null)
    {
        ArgumentNullException.ThrowIfNull(pinned);
        return new BatchObjectChangedException($"'{pinned.Key}' changed or was removed since it was checked (identity {pinned.Identity})", inner);
    }
}

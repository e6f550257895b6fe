namespace Serverless.Inference.Batch;

/// <summary>
/// A batch store could not do what was asked: unreachable, refused, throttled, a key it cannot hold. The message names
/// the key and the reason and may go into error documents (they live in the owner's own storage); account addresses,
/// local paths and a transport's own text go to <see cref="Detail"/>, which only the log sees.
/// </summary>
public class BatchStoreException : IOException
{
    public BatchStoreException()
    {
    }

    public BatchStoreException(string message)
        : base(message)
    {
    }

    public BatchStoreException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    public string? Detail { get; init; }

    /// <summary>The store cannot hold or may not touch this key at all (outside its folder or containers): no retry changes that.</summary>
    public bool KeyRefused { get; init; }
}

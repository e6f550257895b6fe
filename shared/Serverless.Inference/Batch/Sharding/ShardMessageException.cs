namespace Serverless.Inference.Batch.Sharding;

/// <summary>A queue message that is not a shard message, or names no job: it goes to the dead-letter queue with this reason.</summary>
internal sealed class ShardMessageException : Exception
{
    public ShardMessageException(string message)
        : base(message)
    {
    }

    public ShardMessageException()
    {
    }

    public ShardMessageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

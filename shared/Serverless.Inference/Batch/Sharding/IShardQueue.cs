namespace Serverless.Inference.Batch.Sharding;

/// <summary>
/// Where a planned file's shards go: the platform's own queue (SQS, an Azure Storage queue), whose deliveries and
/// function concurrency spread them over instances; or a bounded pool in this process for local runs. Delivery is at
/// least once: a worker acknowledges a shard whose part already exists without scoring it again.
/// </summary>
public interface IShardQueue
{
    Task SendAsync(IReadOnlyList<ShardMessage> messages, CancellationToken cancellationToken);
}

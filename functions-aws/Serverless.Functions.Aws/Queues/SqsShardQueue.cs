using System.Globalization;
using Amazon.SQS;
using Amazon.SQS.Model;
using Microsoft.Extensions.Logging;
using Serverless.Inference.Batch;
using Serverless.Inference.Batch.Sharding;

namespace Serverless.Functions.Aws.Queues;

/// <summary>
/// Shard messages onto SQS through <see cref="SqsBatchSender"/>: ten at a time, refused entries sent again a bounded
/// number of times, what still fails a <see cref="BatchStoreException"/>, so the planning invocation fails and is
/// delivered again. A planner that runs again sends every shard again: delivery is at least once anyway, and a worker
/// skips a shard whose part exists.
/// </summary>
internal sealed class SqsShardQueue(IAmazonSQS sqs, SqsQueueAddress queue, ILogger<SqsShardQueue> logger, TimeProvider? time = null) : IShardQueue
{
    /// <summary>SQS's limit on entries in one SendMessageBatch.</summary>
    public const int MaxBatchEntries = SqsBatchSender.MaxBatchEntries;

    /// <summary>Sends of one entry, the first included, before the queue gives up on it.</summary>
    public const int MaxAttempts = SqsBatchSender.MaxAttempts;

    private readonly SqsBatchSender _sender = new(sqs, queue, "queue", "shard message", logger, time);

    public Task SendAsync(IReadOnlyList<ShardMessage> messages, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messages);
        // Ids are only unique within one request; the index also names the message in the log.
        return _sender.SendAsync(
            [.. messages.Select((message, i) => new SendMessageBatchRequestEntry { Id = i.ToString(CultureInfo.InvariantCulture), MessageBody = message.ToJson() })],
            cancellationToken);
    }
}

using Amazon.CDK;
using Amazon.CDK.AWS.SQS;
using Constructs;

namespace Serverless.Infra.Aws.Constructs;

/// <summary>
/// A work queue of the batch function (S3 notifications, or shard messages) with its dead-letter queue: a message that
/// keeps failing lands there after <c>maxReceiveCount</c> deliveries.
/// </summary>
internal sealed class BatchQueue : Construct
{
    // AWS's guidance for Lambda event sources: at least six times the function timeout.
    private const int VisibilityTimeoutsPerFunctionTimeout = 6;

    public BatchQueue(Construct scope, string id, int functionTimeoutSeconds, int maxReceiveCount) : base(scope, id)
    {
        DeadLetterQueue = new Queue(this, "DeadLetters", new QueueProps
        {
            Encryption = QueueEncryption.SQS_MANAGED,
            EnforceSSL = true,
            RetentionPeriod = Duration.Days(14),
        });

        Queue = new Queue(this, "Events", new QueueProps
        {
            // SSE-SQS, not KMS: S3 can publish to it without a key policy.
            Encryption = QueueEncryption.SQS_MANAGED,
            EnforceSSL = true,
            VisibilityTimeout = Duration.Seconds(functionTimeoutSeconds * VisibilityTimeoutsPerFunctionTimeout),
            RetentionPeriod = Duration.Days(4),
            DeadLetterQueue = new DeadLetterQueue { Queue = DeadLetterQueue, MaxReceiveCount = maxReceiveCount },
        });
    }

    public Queue Queue { get; }

    public Queue DeadLetterQueue { get; }
}

using Amazon.CDK;
using Amazon.CDK.AWS.Kinesis;
using Amazon.CDK.AWS.SQS;
using Constructs;
using KinesisStream = Amazon.CDK.AWS.Kinesis.Stream;

namespace Serverless.Infra.Aws.Constructs;

/// <summary>
/// The Kinesis data stream the stream function reads (encrypted with the AWS-managed key, so no key policy to grant),
/// and the queue Lambda sends a batch's description to when it gives up on it (records too old, or retries spent).
/// </summary>
internal sealed class RecordStream : Construct
{
    /// <param name="shardCount">0: on-demand capacity; above 0: that many provisioned shards.</param>
    public RecordStream(Construct scope, string id, int shardCount, int retentionHours) : base(scope, id)
    {
        Stream = new KinesisStream(this, "Records", new StreamProps
        {
            Encryption = StreamEncryption.MANAGED,
            StreamMode = shardCount == 0 ? StreamMode.ON_DEMAND : StreamMode.PROVISIONED,
            ShardCount = shardCount == 0 ? null : shardCount,
            RetentionPeriod = Duration.Hours(retentionHours),
        });

        // Lambda writes the shard, the sequence-number range and the reason, not the records: they stay in the stream
        // for its retention period, to be read again from there.
        FailedBatches = new Queue(this, "FailedBatches", new QueueProps
        {
            Encryption = QueueEncryption.SQS_MANAGED,
            EnforceSSL = true,
            RetentionPeriod = Duration.Days(14),
        });
    }

    public KinesisStream Stream { get; }

    public Queue FailedBatches { get; }
}

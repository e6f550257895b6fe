using Amazon.CDK;
using Amazon.CDK.AWS.SQS;
using Constructs;

namespace Serverless.Infra.Aws.Constructs;

/// <summary>
/// The queue the stream function sends one message per alert to, for whoever acts on them, with a dead-letter queue for
/// alerts that consumer keeps failing on. Each message carries the alert's deterministic id, so repeats can be dropped.
/// </summary>
internal sealed class AlertQueue : Construct
{
    private const int ConsumerMaxReceiveCount = 5;

    public AlertQueue(Construct scope, string id) : base(scope, id)
    {
        DeadLetterQueue = new Queue(this, "DeadLetters", new QueueProps
        {
            Encryption = QueueEncryption.SQS_MANAGED,
            EnforceSSL = true,
            RetentionPeriod = Duration.Days(14),
        });

        Queue = new Queue(this, "Alerts", new QueueProps
        {
            Encryption = QueueEncryption.SQS_MANAGED,
            EnforceSSL = true,
            RetentionPeriod = Duration.Days(4),
            DeadLetterQueue = new DeadLetterQueue { Queue = DeadLetterQueue, MaxReceiveCount = ConsumerMaxReceiveCount },
        });
    }

    public Queue Queue { get; }

    public Queue DeadLetterQueue { get; }
}

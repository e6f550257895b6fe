using Amazon.SQS;
using Amazon.SQS.Model;

namespace Serverless.Functions.Aws.Queues;

/// <summary>
/// Sends a message the function will not process to the dead-letter queue, with a <c>reason</c> attribute (and the id it
/// arrived under) that someone reading the queue can act on. The body is kept as it came.
/// </summary>
internal sealed class SqsDeadLetterQueue(IAmazonSQS sqs, SqsQueueAddress queue)
{
    /// <summary>Reasons are cut to this many characters: enough to act on, far inside SQS's 256 KiB message limit.</summary>
    public const int MaxReasonLength = 1024;

    public SqsQueueAddress Queue => queue;

    public async Task SendAsync(string? body, string reason, string? sourceMessageId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reason);
        var attributes = new Dictionary<string, MessageAttributeValue>(StringComparer.Ordinal)
        {
            [LambdaContract.DeadLetterReasonAttribute] = new() { DataType = "String", StringValue = reason.Length > MaxReasonLength ? reason[..MaxReasonLength] : reason.Length == 0 ? "(none)" : reason },
        };
        if (!string.IsNullOrEmpty(sourceMessageId))
        {
            attributes[LambdaContract.DeadLetterSourceMessageAttribute] = new() { DataType = "String", StringValue = sourceMessageId };
        }

        try
        {
            // SQS refuses an empty body; a message from SQS always has one, a hand-made test event may not.
            await sqs.SendMessageAsync(
                new SendMessageRequest { QueueUrl = queue.Url, MessageBody = string.IsNullOrEmpty(body) ? "(empty)" : body, MessageAttributes = attributes },
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (SqsClients.Failure("dead-letter the message", queue, e, cancellationToken) is { } failure)
        {
            throw failure;
        }
    }
}

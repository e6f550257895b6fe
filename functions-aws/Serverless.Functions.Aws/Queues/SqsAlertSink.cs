using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Amazon.SQS;
using Amazon.SQS.Model;
using Microsoft.Extensions.Logging;
using Serverless.Inference.Streaming;

namespace Serverless.Functions.Aws.Queues;

/// <summary>
/// Alerts onto an SQS queue, one message each (sent ten at a time): the alert as a JSON body and its deterministic id in
/// the <see cref="LambdaContract.AlertIdAttribute"/> message attribute, so a consumer can drop the repeats at-least-once
/// delivery brings. On a FIFO queue the id is also the deduplication id (SQS drops a repeat within five minutes) and the
/// partition key picks the message group, so one key's alerts stay in order. An alert SQS will not take throws, so the
/// processor leaves its batch uncommitted and it is sent again.
/// </summary>
internal sealed class SqsAlertSink(IAmazonSQS sqs, SqsQueueAddress queue, ILogger<SqsAlertSink> logger, TimeProvider? time = null) : IAlertSink
{
    /// <summary>SQS's limit on a message group id and a deduplication id.</summary>
    private const int MaxFifoIdLength = 128;

    private readonly SqsBatchSender _sender = new(sqs, queue, "send", "alert", logger, time);

    public string Description => $"SQS queue {queue.Name}";

    private bool IsFifo => queue.Name.EndsWith(".fifo", StringComparison.Ordinal);

    public Task SendAsync(IReadOnlyList<StreamAlert> alerts, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alerts);
        return _sender.SendAsync([.. alerts.Select(Entry)], cancellationToken);
    }

    private SendMessageBatchRequestEntry Entry(StreamAlert alert, int index)
    {
        var entry = new SendMessageBatchRequestEntry
        {
            // Ids are only unique within one request; the index also names the alert in the log.
            Id = index.ToString(CultureInfo.InvariantCulture),
            MessageBody = Body(alert),
            MessageAttributes = new Dictionary<string, MessageAttributeValue>
            {
                [LambdaContract.AlertIdAttribute] = new() { DataType = "String", StringValue = alert.Id },
            },
        };
        if (IsFifo)
        {
            entry.MessageDeduplicationId = FifoId(alert.Id);
            entry.MessageGroupId = FifoId(alert.PartitionKey);
        }

        return entry;
    }

    /// <summary>The alert as its consumer reads it: the same names as the predictions lines.</summary>
    internal static string Body(StreamAlert alert)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            alert.WriteTo(writer);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>
    /// SQS takes up to 128 letters, digits and ASCII punctuation: a text that is already such is used as it is, anything
    /// else (a partition key with spaces or non-ASCII letters) by its hash, which keeps equal texts equal.
    /// </summary>
    private static string FifoId(string text) =>
        text.Length is > 0 and <= MaxFifoIdLength && text.All(c => c is >= '!' and <= '~')
            ? text
            : Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}

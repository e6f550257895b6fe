using System.Globalization;
using Amazon.SQS;
using Amazon.SQS.Model;
using Microsoft.Extensions.Logging;
using Serverless.Inference.Batch;

namespace Serverless.Functions.Aws.Queues;

/// <summary>
/// SendMessageBatch, ten entries at a time (SQS's limit), once for every queue the function sends to. Entries SQS refuses
/// are sent again a bounded number of times; what still fails, or a request that fails as a whole after the SDK's own
/// retries, comes out as a <see cref="BatchStoreException"/>, so the caller's work is not marked done.
/// </summary>
/// <param name="verb">What sending is called in errors ("queue", "send").</param>
/// <param name="what">What the messages are, for errors and the log ("shard message", "alert").</param>
internal sealed partial class SqsBatchSender(IAmazonSQS sqs, SqsQueueAddress queue, string verb, string what, ILogger logger, TimeProvider? time = null)
{
    /// <summary>SQS's limit on entries in one SendMessageBatch.</summary>
    public const int MaxBatchEntries = 10;

    /// <summary>Sends of one entry, the first included, before the sender gives up on it.</summary>
    public const int MaxAttempts = 4;

    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(100);

    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>Sends every entry; the entries' ids must be unique within each run of ten (an index is).</summary>
    public async Task SendAsync(IReadOnlyList<SendMessageBatchRequestEntry> entries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        for (var start = 0; start < entries.Count; start += MaxBatchEntries)
        {
            await SendBatchAsync([.. entries.Skip(start).Take(MaxBatchEntries)], cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task SendBatchAsync(List<SendMessageBatchRequestEntry> entries, CancellationToken cancellationToken)
    {
        var pending = entries;
        for (var attempt = 1; ; attempt++)
        {
            SendMessageBatchResponse response;
            try
            {
                response = await sqs.SendMessageBatchAsync(new SendMessageBatchRequest { QueueUrl = queue.Url, Entries = pending }, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (SqsClients.Failure($"{verb} {what}s", queue, e, cancellationToken) is { } failure)
            {
                throw failure;
            }

            var failed = response.Failed ?? [];
            if (failed.Count == 0)
            {
                return;
            }

            var first = failed[0];
            // A sender fault (a body SQS refuses) fails the same way every time.
            if (attempt >= MaxAttempts || failed.All(entry => entry.SenderFault == true))
            {
                throw new BatchStoreException(string.Create(
                    CultureInfo.InvariantCulture,
                    $"could not {verb} {failed.Count} {what}(s) after {attempt} attempt(s): {first.Code} {first.Message}"))
                {
                    Detail = $"{queue.Url}: entries {string.Join(", ", failed.Select(entry => entry.Id))}",
                };
            }

            var retry = failed.Select(entry => entry.Id).ToHashSet(StringComparer.Ordinal);
            pending = [.. pending.Where(entry => retry.Contains(entry.Id))];
            LogRefused(logger, failed.Count, what, attempt, first.Code, first.Message);
            await Task.Delay(FirstBackoff * (1 << (attempt - 1)), _time, cancellationToken).ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "SQS refused {Failed} {What}(s) on attempt {Attempt} ({Code}: {Message}); sending them again")]
    private static partial void LogRefused(ILogger logger, int failed, string what, int attempt, string code, string message);
}

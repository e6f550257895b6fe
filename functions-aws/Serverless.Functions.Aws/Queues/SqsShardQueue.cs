using System.Globalization;
using Amazon.SQS;
using Amazon.SQS.Model;
using Microsoft.Extensions.Logging;
using Serverless.Inference.Batch;
using Serverless.Inference.Batch.Sharding;

namespace Serverless.Functions.Aws.Queues;

/// <summary>
/// Shard messages onto SQS with SendMessageBatch, ten at a time (SQS's limit). Entries SQS refuses are sent again a
/// bounded number of times; what still fails, or a request that fails as a whole after the SDK's own retries, comes out
/// as a <see cref="BatchStoreException"/>, so the planning invocation fails and is delivered again. A planner that runs
/// again sends every shard again: delivery is at least once anyway, and a worker skips a shard whose part exists.
/// </summary>
internal sealed partial class SqsShardQueue(IAmazonSQS sqs, SqsQueueAddress queue, ILogger<SqsShardQueue> logger, TimeProvider? time = null) : IShardQueue
{
    /// <summary>SQS's limit on entries in one SendMessageBatch.</summary>
    public const int MaxBatchEntries = 10;

    /// <summary>Sends of one entry, the first included, before the queue gives up on it.</summary>
    public const int MaxAttempts = 4;

    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(100);

    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public async Task SendAsync(IReadOnlyList<ShardMessage> messages, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messages);
        for (var start = 0; start < messages.Count; start += MaxBatchEntries)
        {
            var entries = new List<SendMessageBatchRequestEntry>(MaxBatchEntries);
            for (var i = start; i < Math.Min(start + MaxBatchEntries, messages.Count); i++)
            {
                // Ids are only unique within one request; the index also names the message in the log.
                entries.Add(new SendMessageBatchRequestEntry { Id = i.ToString(CultureInfo.InvariantCulture), MessageBody = messages[i].ToJson() });
            }

            await SendBatchAsync(entries, cancellationToken).ConfigureAwait(false);
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
            catch (Exception e) when (SqsClients.Failure("queue shard messages", queue, e, cancellationToken) is { } failure)
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
                    $"could not queue {failed.Count} shard message(s) after {attempt} attempt(s): {first.Code} {first.Message}"))
                {
                    Detail = $"{queue.Url}: entries {string.Join(", ", failed.Select(entry => entry.Id))}",
                };
            }

            var retry = failed.Select(entry => entry.Id).ToHashSet(StringComparer.Ordinal);
            pending = [.. pending.Where(entry => retry.Contains(entry.Id))];
            LogRefused(logger, failed.Count, attempt, first.Code, first.Message);
            await Task.Delay(FirstBackoff * (1 << (attempt - 1)), _time, cancellationToken).ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "SQS refused {Failed} shard message(s) on attempt {Attempt} ({Code}: {Message}); sending them again")]
    private static partial void LogRefused(ILogger logger, int failed, int attempt, string code, string message);
}

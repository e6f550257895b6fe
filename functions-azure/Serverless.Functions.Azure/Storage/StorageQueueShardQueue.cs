using Azure;
using Azure.Storage.Queues;
using Serverless.Inference.Batch;
using Serverless.Inference.Batch.Sharding;

namespace Serverless.Functions.Azure.Storage;

/// <summary>
/// The shards of a planned file as messages on a Storage queue (<see cref="AzureContract.ShardQueue"/>), one per
/// shard, which the <c>ScoreShard</c> queue trigger takes up on as many instances as the platform gives it. Bodies are
/// the shard message's JSON, base64-encoded by the client as the trigger expects. Messages never expire: a shard
/// waiting behind a long backlog must still be there when an instance is free.
/// </summary>
/// <param name="connect">Called on first send: settings without a queue service fail only a file big enough to shard.</param>
internal sealed class StorageQueueShardQueue(Func<QueueClient> connect) : IShardQueue
{
    /// <summary>Sends of one plan in flight at once: a plan of thousands of shards is queued in seconds, not minutes.</summary>
    private const int SendsAtOnce = 16;

    private static readonly TimeSpan NeverExpires = TimeSpan.FromSeconds(-1);

    private readonly Lazy<QueueClient> _queue = new(connect);

    public async Task SendAsync(IReadOnlyList<ShardMessage> messages, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messages);
        QueueClient queue;
        try
        {
            queue = _queue.Value;
        }
        catch (InvalidOperationException e)
        {
            throw new BatchStoreException($"could not queue {messages.Count} shard(s): {e.Message}", e);
        }

        if (messages.Count == 0)
        {
            return;
        }

        try
        {
            // The first alone: a queue found missing is created before any other send is in flight. A send cancelled
            // in flight may still be applied by the service, and would come back as a duplicate.
            await QueueSend.WithQueueAsync(queue, async () => await SendAsync(queue, messages[0], cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
            await Parallel.ForEachAsync(
                messages.Skip(1),
                new ParallelOptions { MaxDegreeOfParallelism = SendsAtOnce, CancellationToken = cancellationToken },
                async (message, token) => await SendAsync(queue, message, token).ConfigureAwait(false)).ConfigureAwait(false);
        }
        catch (Exception e) when (QueueSend.Failure($"could not queue {messages.Count} shard(s) on '{queue.Name}'", queue, e) is { } failure)
        {
            throw failure;
        }
    }

    private static async Task SendAsync(QueueClient queue, ShardMessage message, CancellationToken cancellationToken) =>
        await queue.SendMessageAsync(message.ToJson(), visibilityTimeout: null, timeToLive: NeverExpires, cancellationToken).ConfigureAwait(false);
}

/// <summary>
/// Where <c>ScoreShard</c> puts a message that is not a shard message or names no job
/// (<see cref="ShardOutcomeKind.DeadLetter"/>): the poison queue the trigger's host uses after too many deliveries,
/// with the reason beside the message, as <c>{"reason": "...", "message": "..."}</c>.
/// </summary>
public sealed class ShardDeadLetterQueue(QueueClient queue)
{
    /// <summary>A real shard message is far shorter (<see cref="ShardMessage.MaxBytes"/>).</summary>
    internal const int MaxKept = ShardMessage.MaxBytes;

    private static readonly TimeSpan NeverExpires = TimeSpan.FromSeconds(-1);

    public string Name => queue.Name;

    public async Task SendAsync(string reason, string message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reason);
        ArgumentNullException.ThrowIfNull(message);
        if (message.Length > MaxKept)
        {
            // A queue message holds 64 KB of base64; what is kept must fit even with every character JSON-escaped.
            reason = $"{reason} (the message, {message.Length} characters long, is cut to its first {MaxKept})";
            message = message[..MaxKept];
        }

        var envelope = System.Text.Json.JsonSerializer.Serialize(new DeadLetter(reason, message), DeadLetterJson.Default.DeadLetter);
        try
        {
            await QueueSend.WithQueueAsync(queue, async () =>
                await queue.SendMessageAsync(envelope, visibilityTimeout: null, timeToLive: NeverExpires, cancellationToken).ConfigureAwait(false),
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (QueueSend.Failure($"could not dead-letter a message on '{queue.Name}'", queue, e) is { } failure)
        {
            throw failure;
        }
    }
}

/// <summary>A dead-lettered message and why.</summary>
internal sealed record DeadLetter(string Reason, string Message);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(DeadLetter))]
internal sealed partial class DeadLetterJson : System.Text.Json.Serialization.JsonSerializerContext;

internal static class QueueSend
{
    /// <summary>
    /// The queues are provisioned by the templates; a send that finds its queue missing (a fresh local account) creates
    /// it and tries once more, so the usual path costs no extra request.
    /// </summary>
    public static async Task WithQueueAsync(QueueClient queue, Func<Task> send, CancellationToken cancellationToken)
    {
        try
        {
            await send().ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status == 404 && e.ErrorCode == "QueueNotFound")
        {
            await queue.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            await send().ConfigureAwait(false);
        }
    }

    /// <summary>As the blob store: Azure failures become <see cref="BatchStoreException"/>, the address goes to the log only.</summary>
    public static BatchStoreException? Failure(string what, QueueClient queue, Exception e) => e switch
    {
        BatchStoreException => null,
        OperationCanceledException when e.InnerException is not TimeoutException => null,
        RequestFailedException failed => new BatchStoreException(
            failed.Status == 0 ? $"{what}: the queue service cannot be reached" : $"{what}: {failed.Status} {failed.ErrorCode}", e)
        {
            Detail = $"{queue.Uri}: {e.Message}",
        },
        IOException or HttpRequestException or OperationCanceledException or AggregateException => new BatchStoreException($"{what}: the connection failed", e)
        {
            Detail = $"{queue.Uri}: {e.Message}",
        },
        _ => null,
    };
}

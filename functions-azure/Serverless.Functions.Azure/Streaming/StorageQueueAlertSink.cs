using Azure.Storage.Queues;
using Serverless.Functions.Azure.Storage;
using Serverless.Inference.Batch;
using Serverless.Inference.Streaming;

namespace Serverless.Functions.Azure.Streaming;

/// <summary>
/// The stream's alerts as messages on a Storage queue (<see cref="AzureContract.StreamAlertsQueue"/>), one JSON object
/// per alert, base64-encoded by the client as a queue trigger expects (host.json <c>messageEncoding</c>). An alert is
/// sent at least once; its deterministic <c>id</c> lets a consumer drop a repeat. Messages keep the queue's default
/// time-to-live (seven days): an alert nobody read in a week is stale.
/// </summary>
/// <param name="connect">Called on first send: settings without a queue service fail only a delivery that raises an alert.</param>
internal sealed class StorageQueueAlertSink(Func<QueueClient> connect) : IAlertSink
{
    /// <summary>Sends of one delivery in flight at once.</summary>
    private const int SendsAtOnce = 16;

    private readonly Lazy<QueueClient> _queue = new(connect);

    public string Description => $"Storage queue '{AzureContract.StreamAlertsQueue}'";

    public async Task SendAsync(IReadOnlyList<StreamAlert> alerts, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alerts);
        if (alerts.Count == 0)
        {
            return;
        }

        QueueClient queue;
        try
        {
            queue = _queue.Value;
        }
        catch (InvalidOperationException e)
        {
            throw new BatchStoreException($"could not send {alerts.Count} alert(s): {e.Message}", e);
        }

        var messages = alerts.Select(AlertMessage.ToJson).ToArray();
        try
        {
            // The first alone: a queue found missing (a fresh local account) is created before the rest are in flight.
            await QueueSend.WithQueueAsync(queue, async () => await queue.SendMessageAsync(messages[0], cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
            await Parallel.ForEachAsync(
                messages.Skip(1),
                new ParallelOptions { MaxDegreeOfParallelism = SendsAtOnce, CancellationToken = cancellationToken },
                async (message, token) => await queue.SendMessageAsync(message, token).ConfigureAwait(false)).ConfigureAwait(false);
        }
        catch (Exception e) when (QueueSend.Failure($"could not send {alerts.Count} alert(s) on '{queue.Name}'", queue, e) is { } failure)
        {
            throw failure;
        }
    }
}

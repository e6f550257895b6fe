using System.Security.Cryptography;
using System.Text;
using Serverless.Inference.Batch;

namespace Serverless.Functions.Azure.Streaming;

/// <summary>
/// Which events the webhook has already committed, one empty blob per event under <c>stream-events/&lt;model&gt;/</c>,
/// named by a hash of the event's source and id (CloudEvents ids are unique per source). Event Grid may deliver an
/// event again after a success (a lost acknowledgement) or a 503, and nothing promises the retry groups events as
/// the first delivery did: the core's own guard, one create-only predictions object per range of positions, catches
/// only a batch that comes back whole. Checking each id first and recording it after its run was committed catches a
/// regrouped one too. A crash between the commit and the record leaves the core's guard for an unchanged retry.
/// The records expire with the account's lifecycle policy, after Event Grid has stopped retrying.
/// </summary>
public sealed class DeliveryLedger(IBatchStore store)
{
    /// <summary>Blob requests in flight at once for one delivery.</summary>
    private const int RequestsAtOnce = 16;

    /// <summary>For each event, whether it was committed before.</summary>
    internal async Task<bool[]> SeenAsync(string model, IReadOnlyList<DeliveredEvent> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        var seen = new bool[events.Count];
        await Parallel.ForEachAsync(
            Enumerable.Range(0, events.Count),
            new ParallelOptions { MaxDegreeOfParallelism = RequestsAtOnce, CancellationToken = cancellationToken },
            async (index, token) => seen[index] = await store.StatAsync(KeyOf(model, events[index]), token).ConfigureAwait(false) is not null).ConfigureAwait(false);
        return seen;
    }

    /// <summary>Records events whose results are committed; one recorded already (a race with another delivery) is left as it is.</summary>
    internal async Task RecordAsync(string model, IEnumerable<DeliveredEvent> events, CancellationToken cancellationToken) =>
        await Parallel.ForEachAsync(
            events,
            new ParallelOptions { MaxDegreeOfParallelism = RequestsAtOnce, CancellationToken = cancellationToken },
            async (delivered, token) =>
            {
                using var empty = new MemoryStream([], writable: false);
                await store.CreateAsync(KeyOf(model, delivered), empty, token).ConfigureAwait(false);
            }).ConfigureAwait(false);

    /// <summary>Neither the source nor the id reaches the key: only the model (already checked) and a hash.</summary>
    internal static string KeyOf(string model, DeliveredEvent delivered)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{delivered.Source}\n{delivered.Id}"));
        return $"{AzureContract.StreamEventsContainer}/{model}/{Convert.ToHexStringLower(hash)}";
    }
}

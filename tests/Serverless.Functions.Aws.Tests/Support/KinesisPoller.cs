namespace Serverless.Functions.Aws.Tests.Support;

/// <summary>
/// What a Kinesis event source mapping with ReportBatchItemFailures, BisectBatchOnFunctionError and MaximumRetryAttempts
/// does with one shard, as Lambda documents it: batches of up to <c>batchSize</c> records in order; a partial batch
/// response makes it retry only the records from the returned sequence number on; a failed invocation splits the batch
/// in two (first half first); a batch that keeps failing past the retry attempts goes to the on-failure destination
/// and the shard moves on. No Lambda runs here, so this follows that documented protocol.
/// </summary>
internal sealed class KinesisPoller(Func<IReadOnlyList<KinesisItem>, Task<List<string>>> invoke, int batchSize, int retryAttempts)
{
    /// <summary>Every invocation's records, in order: what was delivered.</summary>
    public List<IReadOnlyList<KinesisItem>> Deliveries { get; } = [];

    /// <summary>Batches given up on: what the on-failure destination would receive a description of.</summary>
    public List<IReadOnlyList<KinesisItem>> GivenUp { get; } = [];

    public async Task RunAsync(IReadOnlyList<KinesisItem> shard)
    {
        var pending = new LinkedList<(IReadOnlyList<KinesisItem> Batch, int Retries)>();
        for (var start = 0; start < shard.Count; start += batchSize)
        {
            pending.AddLast(([.. shard.Skip(start).Take(batchSize)], 0));
        }

        while (pending.First is { } next)
        {
            pending.RemoveFirst();
            var (batch, retries) = next.Value;
            Deliveries.Add(batch);
            List<string> failures;
            try
            {
                failures = await invoke(batch);
            }
#pragma warning disable CA1031 // A failed invocation, whatever the exception, is what the mapping reacts to.
            catch (Exception)
#pragma warning restore CA1031
            {
                if (batch.Count > 1)
                {
                    // Bisecting does not count towards the retry attempts.
                    var half = batch.Count / 2;
                    pending.AddFirst(([.. batch.Skip(half)], retries));
                    pending.AddFirst(([.. batch.Take(half)], retries));
                }
                else
                {
                    Retry(pending, batch, retries);
                }

                continue;
            }

            if (failures.Count == 0)
            {
                continue;
            }

            var from = failures.Select(sequence => batch.ToList().FindIndex(item => item.SequenceNumber == sequence)).Where(index => index >= 0).DefaultIfEmpty(0).Min();
            Retry(pending, [.. batch.Skip(from)], retries);
        }
    }

    private void Retry(LinkedList<(IReadOnlyList<KinesisItem> Batch, int Retries)> pending, IReadOnlyList<KinesisItem> batch, int retries)
    {
        if (retries >= retryAttempts)
        {
            GivenUp.Add(batch);
            return;
        }

        pending.AddFirst((batch, retries + 1));
    }
}

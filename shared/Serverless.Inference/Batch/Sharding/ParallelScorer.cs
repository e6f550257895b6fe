using Serverless.Inference.Hosting;

namespace Serverless.Inference.Batch.Sharding;

/// <summary>
/// One file scored by several workers in this process (<c>infer score --workers N</c>): planned into shards as the
/// queue workers' files are, each worker scoring the next shard into a part file of its own, the parts concatenated in
/// input order. The result is the one a single scorer writes; the memory gate keeps the workers within the instance's
/// memory whatever N is.
/// </summary>
public sealed class ParallelScorer(ModelLease model, BatchOptions options, ShardingOptions sharding, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public async Task<BatchSummary> ScoreAsync(
        IBatchStore store, BatchObject input, BatchFormat format, Stream output, int workers, string workDirectory, IProgress<BatchProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(workers);
        var startedAt = _time.GetUtcNow();
        var single = new BatchScorer(model, options, _time);
        // Several shards a worker, so one slow shard does not leave the others idle at the end.
        var bytesPerShard = Math.Clamp(input.Length / (workers * 4L), 1L << 20, sharding.BytesPerShard);
        var plan = workers == 1 ? null : await ShardScoring.PlanAsync(
            store, input, model, format, single.MicroBatchSize, model.Manifest.Batch?.RowsPerShard ?? sharding.RowsPerShard, bytesPerShard, options.MaxRecordBytes, startedAt, cancellationToken).ConfigureAwait(false);
        if (plan is null)
        {
            await using var source = await store.OpenReadAsync(input, cancellationToken).ConfigureAwait(false);
            return await single.ScoreAsync(source, output, new BatchJob(input.Key, input.Identity, format), progress, cancellationToken).ConfigureAwait(false);
        }

        var parts = new string[plan.Shards.Count];
        var summaries = new BatchSummary[plan.Shards.Count];
        var totals = new ProgressTotals(plan.Shards.Count, progress);
        try
        {
            await Parallel.ForEachAsync(
                Enumerable.Range(0, plan.Shards.Count),
                new ParallelOptions { MaxDegreeOfParallelism = workers, CancellationToken = cancellationToken },
                async (shard, token) =>
                {
                    parts[shard] = Path.Combine(workDirectory, $"part-{Guid.NewGuid():N}");
                    await using var part = new FileStream(parts[shard], FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
                    summaries[shard] = await ShardScoring.ScoreAsync(store, plan, shard, new BatchScorer(model, options, _time), part, totals.For(shard), token).ConfigureAwait(false);
                }).ConfigureAwait(false);

            foreach (var part in parts)
            {
                await using var content = new FileStream(part, FileMode.Open, FileAccess.Read, FileShare.None, 1 << 16, useAsync: true);
                await content.CopyToAsync(output, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            foreach (var part in parts.Where(part => part is not null))
            {
                File.Delete(part);
            }
        }

        return BatchSummary.AddUp(summaries, startedAt, _time.GetUtcNow());
    }

    /// <summary>The workers' progress added up: each shard's latest figures, summed.</summary>
    private sealed class ProgressTotals(int shards, IProgress<BatchProgress>? target)
    {
        private readonly Lock _gate = new();
        private readonly BatchProgress[] _latest = new BatchProgress[shards];

        public IProgress<BatchProgress>? For(int shard) => target is null ? null : new Reporter(this, shard);

        private void Report(int shard, BatchProgress value)
        {
            BatchProgress sum;
            lock (_gate)
            {
                _latest[shard] = value;
                sum = new BatchProgress(_latest.Sum(p => p.Rows), _latest.Sum(p => p.FailedRows), _latest.Sum(p => p.BytesRead));
            }

            target!.Report(sum);
        }

        private sealed class Reporter(ProgressTotals totals, int shard) : IProgress<BatchProgress>
        {
            public void Report(BatchProgress value) => totals.Report(shard, value);
        }
    }
}

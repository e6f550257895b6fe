namespace Serverless.Inference.Batch.Sharding;

/// <summary>
/// Planning a pinned input into shards and scoring one shard: what the queue workers and the in-process parallel
/// scorer share. A shard is read as its byte range of the input, after the CSV header, with lines numbered as in the
/// whole file; only the first shard writes a CSV result header, so the parts concatenate into the unsharded result.
/// </summary>
internal static class ShardScoring
{
    /// <returns>Null when the input holds at most one shard's worth: it is scored as one piece.</returns>
    public static async Task<ShardPlan?> PlanAsync(
        IBatchStore store, BatchObject input, Hosting.ModelLease model, BatchFormat format, int microBatch, int rowsPerShard, long bytesPerShard, int maxRecordBytes, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // Whole micro-batches per shard: rows are run in the same company as in one invocation.
        var rows = Math.Max(microBatch, rowsPerShard / microBatch * microBatch);
        (ShardRange? Header, int HeaderLines, List<ShardRange> Shards) cut;
        await using (var source = await store.OpenReadAsync(input, cancellationToken).ConfigureAwait(false))
        {
            cut = await ShardPlanner.PlanAsync(source, format, maxRecordBytes, rows, bytesPerShard, cancellationToken).ConfigureAwait(false);
        }

        return cut.Shards.Count <= 1 ? null : new ShardPlan
        {
            Input = input.Key,
            InputIdentity = input.Identity,
            InputLength = input.Length,
            InputLastModified = input.LastModified,
            Model = model.Name,
            ModelVersion = model.Version,
            ModelIdentity = model.Identity,
            Format = format,
            Header = cut.Header,
            HeaderLines = cut.HeaderLines,
            Shards = cut.Shards,
            CreatedAt = now,
        };
    }

    public static async Task<BatchSummary> ScoreAsync(
        IBatchStore store, ShardPlan plan, int shard, BatchScorer scorer, Stream output, IProgress<BatchProgress>? progress, CancellationToken cancellationToken)
    {
        var range = plan.Shards[shard];
        var input = plan.PinnedInput;
        var header = ReadOnlyMemory<byte>.Empty;
        if (plan.Header is { } headerRange)
        {
            await using var stream = await store.OpenReadAsync(input, headerRange.Offset, headerRange.Length, cancellationToken).ConfigureAwait(false);
            using var bytes = new MemoryStream((int)headerRange.Length);
            await stream.CopyToAsync(bytes, cancellationToken).ConfigureAwait(false);
            header = bytes.ToArray();
        }

        var job = new BatchJob(plan.Input, plan.InputIdentity, plan.Format, range.FirstLine - plan.HeaderLines, WriteHeader: shard == 0);
        await using var source = new PrefixedStream(header, await store.OpenReadAsync(input, range.Offset, range.Length, cancellationToken).ConfigureAwait(false));
        return await scorer.ScoreAsync(source, output, job, progress, cancellationToken).ConfigureAwait(false);
    }
}

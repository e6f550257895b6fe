namespace Serverless.Inference.Batch.Sharding;

/// <summary>When and how a batch file is split into shards that separate invocations score.</summary>
public sealed record ShardingOptions
{
    /// <summary>A file at most this large is scored in one invocation, as it arrives: planning it would cost more than it saves.</summary>
    public long MinBytes { get; init; } = 4L << 20;

    /// <summary>The most rows a shard holds, unless the model's manifest says otherwise (<c>batch.rows_per_shard</c>).</summary>
    public int RowsPerShard { get; init; } = 50_000;

    /// <summary>The most input bytes a shard holds, unless the model's manifest says otherwise (<c>batch.bytes_per_shard</c>).</summary>
    public long BytesPerShard { get; init; } = 64L << 20;

    /// <summary>A merge claimed this long ago without a merged result is taken over: its merger died.</summary>
    public TimeSpan MergeTimeout { get; init; } = TimeSpan.FromMinutes(15);
}

namespace Serverless.Inference.Repository;

/// <summary>
/// The <c>dynamic_batching</c> section of <c>model.json</c>, in Triton's own words: concurrent requests for one model
/// version wait up to <paramref name="MaxQueueDelayMicroseconds"/> to be merged into one run of at most
/// <c>max_batch_size</c> rows, and a run starts at once when the rows waiting reach a preferred size.
/// </summary>
/// <param name="MaxQueueDelayMicroseconds">The longest a request waits for others to join its run.</param>
/// <param name="PreferredBatchSize">Row counts worth running at once without waiting longer; empty: <c>max_batch_size</c>.</param>
/// <param name="MaxQueueSize">The most requests waiting per model version; beyond it a request is answered 429.</param>
internal sealed record DynamicBatchingManifest(
    long MaxQueueDelayMicroseconds = 2_000,
    IReadOnlyList<int>? PreferredBatchSize = null,
    int MaxQueueSize = 1_024)
{
    public const long MaxDelayMicroseconds = 1_000_000;

    internal string? Problem(int maxBatchSize) =>
        maxBatchSize < 2 ? "needs max_batch_size of 2 or more (the rows of merged requests share the first dimension)"
        : MaxQueueDelayMicroseconds is < 0 or > MaxDelayMicroseconds ? $"max_queue_delay_microseconds must be between 0 and {MaxDelayMicroseconds}"
        : PreferredBatchSize?.Any(size => size < 1 || size > maxBatchSize) == true ? $"preferred_batch_size values must be between 1 and max_batch_size ({maxBatchSize})"
        : MaxQueueSize is < 1 or > 1 << 20 ? "max_queue_size must be between 1 and 1048576"
        : null;
}

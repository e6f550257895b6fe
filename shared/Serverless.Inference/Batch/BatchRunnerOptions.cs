namespace Serverless.Inference.Batch;

public sealed class BatchRunnerOptions
{
    /// <summary>Whole-file attempts before the file is moved to failed/.</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>Where results are written before they are published; on Lambda this must be under /tmp.</summary>
    public string WorkDirectory { get; set; } = Path.GetTempPath();

    /// <summary>
    /// Time kept back before a deadline: a run still going then is stopped and counted as an attempt, with this long
    /// left to record it; a file whose deadline is already this close is not started.
    /// </summary>
    public TimeSpan DeadlineReserve { get; set; } = TimeSpan.FromSeconds(5);

    public BatchOptions Scoring { get; set; } = new();

    /// <summary>How big files are split when the runner has a shard queue.</summary>
    public Sharding.ShardingOptions Sharding { get; set; } = new();
}

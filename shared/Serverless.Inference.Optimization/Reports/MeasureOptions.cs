namespace Serverless.Inference.Optimization.Reports;

/// <summary>How much measuring each model gets.</summary>
/// <param name="SessionCreations">Fresh loads whose session-creation times give the median.</param>
/// <param name="LatencyRuns">Timed runs per batch size.</param>
/// <param name="MaxRowsPerRun">The most sample rows one accuracy run holds (fewer where the model's max_batch_size says so).</param>
internal sealed record MeasureOptions(int SessionCreations = 3, int LatencyRuns = 20, int MaxRowsPerRun = 16)
{
    public static MeasureOptions Default { get; } = new();

    /// <summary>The batch sizes latency is measured at, where the model takes batches that large.</summary>
    public static readonly IReadOnlyList<int> LatencyBatchSizes = [1, 8];
}

namespace Serverless.Inference.Optimization.Reports;

/// <summary>What one model costs to load and run, measured in this process.</summary>
/// <param name="FileBytes">The size of model.onnx.</param>
/// <param name="SessionCreateMs">The median, over <paramref name="SessionCreations"/> fresh loads, of the host's session-creation phase (ONNX Runtime session and pipeline).</param>
/// <param name="LatencyMs">Per batch size, the median time of one run through the model as callers reach it.</param>
/// <param name="LatencyRuns">The runs each latency median is taken over (after one untimed run).</param>
/// <param name="PeakRssBytes">See <see cref="PeakMemory.Description"/>; null where the system cannot tell.</param>
/// <param name="RssGrowthBytes">The peak less the resident set when the measurement started.</param>
internal sealed record ModelCost(
    long FileBytes,
    double SessionCreateMs,
    int SessionCreations,
    IReadOnlyDictionary<string, double> LatencyMs,
    int LatencyRuns,
    long? PeakRssBytes,
    long? RssGrowthBytes);

namespace Serverless.Inference.Benchmarks.Harness;

/// <summary>Order statistics over samples; medians, never means, so one stall does not move a figure.</summary>
internal static class Stats
{
    public static double Median(IReadOnlyCollection<double> samples) => Percentile(samples, 0.5);

    /// <summary>The p-quantile (0..1) with linear interpolation between the closest ranks.</summary>
    public static double Percentile(IReadOnlyCollection<double> samples, double p)
    {
        ArgumentNullException.ThrowIfNull(samples);
        if (samples.Count == 0)
        {
            return double.NaN;
        }

        var sorted = samples.Order().ToArray();
        var rank = p * (sorted.Length - 1);
        var low = (int)Math.Floor(rank);
        var high = Math.Min(low + 1, sorted.Length - 1);
        return sorted[low] + ((rank - low) * (sorted[high] - sorted[low]));
    }
}

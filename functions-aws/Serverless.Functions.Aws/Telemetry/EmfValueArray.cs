using OpenTelemetry.Metrics;

namespace Serverless.Functions.Aws.Telemetry;

/// <summary>
/// A histogram as an EMF value array: <c>Values</c> with their <c>Counts</c> (at most 100 pairs), from OpenTelemetry's
/// base-2 exponential buckets. Each bucket becomes one value (its midpoint, kept within the recorded min and max), so
/// CloudWatch can still compute percentiles, within the bucket's relative width; a single recording, or several
/// equal ones, is exact.
/// </summary>
internal static class EmfValueArray
{
    /// <summary>The most values one EMF metric may hold.</summary>
    public const int MaxValues = 100;

    public static (List<double> Values, List<long> Counts) FromExponential(ExponentialHistogramData data, double min, double max)
    {
        var buckets = new List<(long Index, long Count)>();
        var index = (long)data.PositiveBuckets.Offset;
        foreach (var count in data.PositiveBuckets)
        {
            if (count > 0)
            {
                buckets.Add((index, count));
            }

            index++;
        }

        var scale = data.Scale;
        var room = data.ZeroCount > 0 ? MaxValues - 1 : MaxValues;
        while (buckets.Count > room)
        {
            // One scale down, every two neighbouring buckets become one (indexes halve, rounding towards minus infinity).
            buckets = buckets.GroupBy(b => b.Index >> 1).Select(g => (g.Key, g.Sum(b => b.Count))).ToList();
            scale--;
        }

        var values = new List<double>(buckets.Count + 1);
        var counts = new List<long>(buckets.Count + 1);
        if (data.ZeroCount > 0)
        {
            values.Add(0);
            counts.Add(data.ZeroCount);
        }

        var bucketBase = Math.Pow(2, Math.Pow(2, -scale));
        foreach (var (bucketIndex, count) in buckets)
        {
            // Bucket i holds (base^i, base^(i+1)].
            var lower = Math.Pow(bucketBase, bucketIndex);
            var midpoint = (lower + (lower * bucketBase)) / 2;
            values.Add(Math.Clamp(midpoint, min, max));
            counts.Add(count);
        }

        return (values, counts);
    }
}

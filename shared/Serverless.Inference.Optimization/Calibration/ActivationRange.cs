namespace Serverless.Inference.Optimization.Calibration;

/// <summary>The smallest and largest value one tensor took over the calibration rows.</summary>
internal sealed record ActivationRange(float Min, float Max)
{
    public ActivationRange Including(ReadOnlySpan<float> values)
    {
        var min = Min;
        var max = Max;
        foreach (var value in values)
        {
            min = Math.Min(min, value);
            max = Math.Max(max, value);
        }

        return new ActivationRange(min, max);
    }

    public static ActivationRange Empty { get; } = new(float.PositiveInfinity, float.NegativeInfinity);
}

namespace Serverless.Inference.Runtime;

/// <summary>
/// Estimates of what a run costs in memory, from the signature alone: a model's own figure
/// (<c>memory_per_row_mb</c>, measured) wins; without one, a row is taken to cost 32 times its inputs and outputs at
/// the largest shape the model accepts, which covers the activations of the sample models measured so far.
/// </summary>
internal static class WorkingMemory
{
    /// <summary>What any run costs besides its rows: the runtime's own buffers, the result's bookkeeping.</summary>
    public const long RunBytes = 1 << 20;

    private const long MinRowBytes = 256;
    private const int ActivationFactor = 32;

    /// <summary>A BYTES element has no fixed size; this is what one is taken to cost.</summary>
    private const int StringElementBytes = 64;

    /// <summary>Below this share of the largest shape, a run is still charged this share: small runs have fixed costs too.</summary>
    private const double MinFraction = 0.1;

    public static long RowBytes(ModelSignature signature, double configuredMegabytes)
    {
        if (configuredMegabytes > 0)
        {
            return (long)(configuredMegabytes * (1 << 20));
        }

        // An output's unnamed dimensions (a sequence, say) are taken as long as the longest bounded input dimension.
        var longest = signature.Inputs.SelectMany(input => input.MaxShape?.Skip(1) ?? []).Where(d => d > 0).DefaultIfEmpty(1).Max();
        var perRow = signature.Inputs.Concat(signature.Outputs).Sum(spec => RowElements(spec, longest) * ElementBytes(spec.DataType));
        return Math.Max(MinRowBytes, perRow * ActivationFactor);
    }

    /// <summary>
    /// A run's fixed cost plus the rows a request holds (its batch dimension; 1 for a model without one) times the cost
    /// of a row, scaled by how much of the largest accepted shape the request uses.
    /// </summary>
    public static long Estimate(ModelSignature signature, IReadOnlyList<InputTensor> inputs, int maxBatchSize, long rowBytes)
    {
        if (inputs.Count == 0)
        {
            return RunBytes + rowBytes;
        }

        var rows = maxBatchSize > 0 && inputs[0].Shape.Length > 0 ? Math.Max(1, inputs[0].Shape[0]) : 1;
        var fraction = 1.0;
        var bounded = false;
        foreach (var input in inputs)
        {
            if (signature.FindInput(input.Name) is { MaxShape: { } max } && max.Count == input.Shape.Length)
            {
                var used = 1.0;
                for (var d = 1; d < max.Count; d++)
                {
                    used *= max[d] > 0 ? Math.Min(1.0, (double)input.Shape[d] / max[d]) : 1.0;
                }

                fraction = bounded ? Math.Max(fraction, used) : used;
                bounded = true;
            }
        }

        return RunBytes + (long)(rows * rowBytes * Math.Clamp(fraction, MinFraction, 1.0));
    }

    private static long RowElements(TensorSpec spec, long longest)
    {
        var elements = 1L;
        for (var d = 1; d < spec.Shape.Count; d++)
        {
            elements *= spec.Shape[d] >= 0 ? spec.Shape[d] : spec.MaxShape is { } max && max[d] > 0 ? max[d] : longest;
        }

        return elements;
    }

    private static int ElementBytes(TensorDataType type) => type == TensorDataType.Bytes ? StringElementBytes : type.ElementSize();
}

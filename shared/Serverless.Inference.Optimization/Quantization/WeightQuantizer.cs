namespace Serverless.Inference.Optimization.Quantization;

/// <summary>Symmetric int8 quantization of constant weights, per tensor or per channel.</summary>
internal static class WeightQuantizer
{
    // -127..127 rather than -128..127: symmetric, so w and -w round to opposite values, as ONNX Runtime's tools do.
    private const float Limit = 127f;

    /// <param name="axis">The channel axis (one scale per index along it), or -1 for one scale.</param>
    public static QuantizedWeights Int8Symmetric(ReadOnlySpan<float> values, IReadOnlyList<long> dims, int axis)
    {
        var (outer, channels, inner) = Layout(values.Length, dims, axis);
        var scales = new float[channels];
        for (var o = 0; o < outer; o++)
        {
            for (var c = 0; c < channels; c++)
            {
                var start = ((o * channels) + c) * inner;
                foreach (var value in values.Slice(start, inner))
                {
                    scales[c] = Math.Max(scales[c], Math.Abs(value));
                }
            }
        }

        for (var c = 0; c < channels; c++)
        {
            // An all-zero channel quantizes to zeros with any scale; 1 keeps the dequantized values exact.
            scales[c] = scales[c] > 0 ? scales[c] / Limit : 1f;
        }

        var quantized = new sbyte[values.Length];
        for (var o = 0; o < outer; o++)
        {
            for (var c = 0; c < channels; c++)
            {
                var start = ((o * channels) + c) * inner;
                for (var i = start; i < start + inner; i++)
                {
                    quantized[i] = (sbyte)Math.Clamp(MathF.Round(values[i] / scales[c], MidpointRounding.ToEven), -Limit, Limit);
                }
            }
        }

        return new QuantizedWeights(quantized, scales, axis);
    }

    /// <summary>
    /// The uint8 scale and zero point of an activation range, as ONNX Runtime computes them: the range always
    /// holds 0 (so padding and ReLU zeros are exact), and a zero-width range gets scale 1.
    /// </summary>
    public static (float Scale, byte ZeroPoint) UInt8Asymmetric(float min, float max)
    {
        if (!float.IsFinite(min) || !float.IsFinite(max) || min > max)
        {
            throw new OptimizationException($"activation range [{min}, {max}] is not a finite range");
        }

        min = Math.Min(min, 0f);
        max = Math.Max(max, 0f);
        var scale = (max - min) / 255f;
        if (scale == 0f)
        {
            return (1f, 0);
        }

        var zeroPoint = (byte)Math.Clamp(MathF.Round(-min / scale, MidpointRounding.ToEven), 0f, 255f);
        return (scale, zeroPoint);
    }

    private static (int Outer, int Channels, int Inner) Layout(int count, IReadOnlyList<long> dims, int axis)
    {
        if (axis < 0)
        {
            return (1, 1, count);
        }

        if (axis >= dims.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(axis), axis, $"a tensor of rank {dims.Count} has no axis {axis}");
        }

        var outer = 1L;
        for (var d = 0; d < axis; d++)
        {
            outer *= dims[d];
        }

        var inner = 1L;
        for (var d = axis + 1; d < dims.Count; d++)
        {
            inner *= dims[d];
        }

        return checked(((int)outer, (int)dims[axis], (int)inner));
    }
}

using Onnx;
using Serverless.Inference.Optimization.Onnx;

namespace Serverless.Inference.Optimization.Float16;

/// <summary>Float tensors stored as FP16: each value rounded to the nearest FP16, finite values beyond its range clamped.</summary>
internal static class HalfWeights
{
    /// <summary>The largest finite FP16 value.</summary>
    public const float MaxHalf = 65504f;

    /// <summary>
    /// The FP16 copy of a float tensor, same name and shape. A finite value beyond ±65504 would round to infinity
    /// (a mask constant of -3.4e38 would turn a sum into NaN); it is clamped to ±65504 instead and counted.
    /// Infinities and NaN stay what they are.
    /// </summary>
    public static TensorProto Convert(TensorProto tensor, out int clamped)
    {
        var values = TensorData.ReadFloats(tensor);
        var halves = new Half[values.Length];
        clamped = 0;
        for (var i = 0; i < values.Length; i++)
        {
            var value = values[i];
            if (float.IsFinite(value) && Math.Abs(value) > MaxHalf)
            {
                value = MathF.CopySign(MaxHalf, value);
                clamped++;
            }

            halves[i] = (Half)value;
        }

        var converted = TensorData.Halves(tensor.Name, [.. tensor.Dims], halves);
        converted.DocString = tensor.DocString;
        return converted;
    }
}

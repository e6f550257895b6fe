using Onnx;
using Serverless.Inference.Optimization.Onnx;

namespace Serverless.Inference.Tests.Optimization.Support;

/// <summary>
/// x float [N, 1, 4, 4] -> Conv 3x3 (one output channel, chosen weights and bias) -> BatchNormalization -> Flatten
/// -> y float [N, 4]: small enough that its int8 result can be worked out by hand. The normalization's variance
/// plus epsilon is 4, so it scales by exactly 0.5 and folding it keeps every weight exact in float.
/// </summary>
internal static class SmallConvModel
{
    public const float Bias = 0.25f;
    public const float Gamma = 1f;
    public const float Beta = 0.5f;
    public const float Mean = 1f;
    public const float Variance = 3.75f;
    public const float Epsilon = 0.25f;

    public static readonly float[] Weights = [1f, -2f, 0.5f, 0f, 3f, -1f, 2f, 1f, -0.5f];

    /// <summary>The weights once the normalization is folded in: w x gamma / sqrt(var + eps).</summary>
    public static float[] FoldedWeights => [.. Weights.Select(w => w * (Gamma / MathF.Sqrt(Variance + Epsilon)))];

    /// <summary>The bias once the normalization is folded in: (b - mean) x gamma / sqrt(var + eps) + beta.</summary>
    public static float FoldedBias => ((Bias - Mean) * (Gamma / MathF.Sqrt(Variance + Epsilon))) + Beta;

    public static ModelProto Build(long opset, bool batchNormalization = true)
    {
        var builder = new OnnxModelBuilder("small_conv", opset)
            .Input("x", OnnxElementType.Float, "N", 1, 4, 4)
            .Output("y", OnnxElementType.Float, "N", 4)
            .Initializer<float>("w", Weights, 1, 1, 3, 3)
            .Initializer<float>("b", [Bias], 1)
            .Node("Conv", ["x", "w", "b"], [batchNormalization ? "conv" : "normalized"], OnnxAttribute.Ints("kernel_shape", 3, 3));
        if (batchNormalization)
        {
            builder
                .Initializer<float>("gamma", [Gamma], 1)
                .Initializer<float>("beta", [Beta], 1)
                .Initializer<float>("mean", [Mean], 1)
                .Initializer<float>("variance", [Variance], 1)
                .Node("BatchNormalization", ["conv", "gamma", "beta", "mean", "variance"], ["normalized"], OnnxAttribute.Float("epsilon", Epsilon));
        }

        return OnnxModelFile.Parse(builder.Node("Flatten", ["normalized"], ["y"], OnnxAttribute.Int("axis", 1)).ToBytes());
    }

    /// <summary>The float convolution of one 4 x 4 input: 2 x 2 outputs, row by row.</summary>
    public static float[] Convolve(ReadOnlySpan<float> x, ReadOnlySpan<float> weights, float bias)
    {
        var y = new float[4];
        for (var row = 0; row < 2; row++)
        {
            for (var column = 0; column < 2; column++)
            {
                var sum = bias;
                for (var i = 0; i < 3; i++)
                {
                    for (var j = 0; j < 3; j++)
                    {
                        sum += x[((row + i) * 4) + column + j] * weights[(i * 3) + j];
                    }
                }

                y[(row * 2) + column] = sum;
            }
        }

        return y;
    }
}

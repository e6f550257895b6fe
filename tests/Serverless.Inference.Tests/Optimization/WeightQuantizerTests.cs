using Serverless.Inference.Optimization;
using Serverless.Inference.Optimization.Quantization;

namespace Serverless.Inference.Tests.Optimization;

/// <summary>Symmetric int8 weights and uint8 activation ranges, against values worked out by hand.</summary>
public sealed class WeightQuantizerTests
{
    [Fact]
    public void Int8Symmetric_PerTensor_OneScaleFromTheLargestMagnitude()
    {
        // max |w| = 4 -> scale 4/127; w/scale = 31.75, -63.5, 15.875, 127 -> 32, -64 (half to even), 16, 127.
        var quantized = WeightQuantizer.Int8Symmetric([1f, -2f, 0.5f, 4f], [2, 2], axis: -1);

        Assert.Equal([4f / 127f], quantized.Scales);
        Assert.Equal([32, -64, 16, 127], quantized.Values.Select(v => (int)v));
        Assert.Equal(-1, quantized.Axis);
    }

    [Fact]
    public void Int8Symmetric_PerColumn_EachColumnItsOwnScale()
    {
        // [[1.27, -2.54], [-0.62, 0.5]] along axis 1: column 0 max 1.27 -> scale 0.01, column 1 max 2.54 -> 0.02.
        var quantized = WeightQuantizer.Int8Symmetric([1.27f, -2.54f, -0.62f, 0.5f], [2, 2], axis: 1);

        Assert.Equal(1.27f / 127f, quantized.Scales[0]);
        Assert.Equal(2.54f / 127f, quantized.Scales[1]);
        Assert.Equal([127, -127, -62, 25], quantized.Values.Select(v => (int)v));
    }

    [Fact]
    public void Int8Symmetric_PerRow_ScalesRunAlongAxisZero()
    {
        // [[3, -1.5, 0], [0.1, 0.2, -0.254]]: row 0 scale 3/127 -> 127, -63.5 -> -64, 0; row 1 scale 0.002 -> 50, 100, -127.
        var quantized = WeightQuantizer.Int8Symmetric([3f, -1.5f, 0f, 0.1f, 0.2f, -0.254f], [2, 3], axis: 0);

        Assert.Equal([3f / 127f, 0.254f / 127f], quantized.Scales);
        Assert.Equal([127, -64, 0, 50, 100, -127], quantized.Values.Select(v => (int)v));
    }

    [Fact]
    public void Int8Symmetric_AllZeroChannel_ScaleOneAndZeros()
    {
        var quantized = WeightQuantizer.Int8Symmetric([0f, 2f, 0f, -1f], [2, 2], axis: 1);

        Assert.Equal([1f, 2f / 127f], quantized.Scales);
        Assert.Equal([0, 127, 0, -64], quantized.Values.Select(v => (int)v));
    }

    [Fact]
    public void Int8Symmetric_NegatedWeights_NegatedValues()
    {
        float[] weights = [0.3f, -0.7f, 1.1f, 0.05f, -0.9f, 0.45f];
        var positive = WeightQuantizer.Int8Symmetric(weights, [6], axis: -1);
        var negative = WeightQuantizer.Int8Symmetric([.. weights.Select(w => -w)], [6], axis: -1);

        Assert.Equal(positive.Scales, negative.Scales);
        Assert.Equal(positive.Values.Select(v => -v), negative.Values.Select(v => (int)v));
        Assert.All(positive.Values, v => Assert.InRange(v, -127, 127));
    }

    [Fact]
    public void Int8Symmetric_AxisBeyondRank_Refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => WeightQuantizer.Int8Symmetric([1f, 2f], [2], axis: 1));

    [Fact]
    public void UInt8Asymmetric_RangeAcrossZero_ZeroPointFromTheMinimum()
    {
        // [-1, 2.06]: scale 3.06/255 = 0.012; zero point round(1/0.012) = round(83.33) = 83.
        var (scale, zeroPoint) = WeightQuantizer.UInt8Asymmetric(-1f, 2.06f);

        Assert.Equal(3.06f / 255f, scale, 1e-7f);
        Assert.Equal(83, zeroPoint);
    }

    [Fact]
    public void UInt8Asymmetric_PositiveRange_WidenedToHoldZero()
    {
        // [0.5, 2.55] becomes [0, 2.55]: scale 0.01, zero point 0.
        var (scale, zeroPoint) = WeightQuantizer.UInt8Asymmetric(0.5f, 2.55f);

        Assert.Equal(0.01f, scale, 1e-7f);
        Assert.Equal(0, zeroPoint);
    }

    [Fact]
    public void UInt8Asymmetric_NegativeRange_ZeroPointAtTheTop()
    {
        // [-5.1, -1] becomes [-5.1, 0]: scale 0.02, zero point 255.
        var (scale, zeroPoint) = WeightQuantizer.UInt8Asymmetric(-5.1f, -1f);

        Assert.Equal(0.02f, scale, 1e-7f);
        Assert.Equal(255, zeroPoint);
    }

    [Fact]
    public void UInt8Asymmetric_ZeroWidth_ScaleOne()
    {
        Assert.Equal((1f, (byte)0), WeightQuantizer.UInt8Asymmetric(0f, 0f));
    }

    [Theory]
    [InlineData(float.NaN, 1f)]
    [InlineData(0f, float.PositiveInfinity)]
    [InlineData(2f, 1f)]
    public void UInt8Asymmetric_NotAFiniteRange_Refused(float min, float max)
    {
        var error = Assert.Throws<OptimizationException>(() => WeightQuantizer.UInt8Asymmetric(min, max));
        Assert.Contains("not a finite range", error.Message, StringComparison.Ordinal);
    }
}

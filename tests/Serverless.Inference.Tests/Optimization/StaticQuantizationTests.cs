using Onnx;
using Serverless.Inference.Optimization;
using Serverless.Inference.Optimization.Onnx;
using Serverless.Inference.Optimization.Quantization;
using Serverless.Inference.Tests.Optimization.Support;
using Serverless.Inference.Tests.Support;

namespace Serverless.Inference.Tests.Optimization;

/// <summary>
/// int8-static on a generated Conv + BatchNormalization model whose quantized result is worked out by hand here:
/// the calibrated scales and zero points, the int8 weights, the int32 bias, the integer convolution and its
/// rescaling. At opset 13 the standard QuantizeLinear/DequantizeLinear are used, at opset 9 ONNX Runtime's contrib ones.
/// </summary>
public sealed class StaticQuantizationTests
{
    // Calibration inputs: 4 x 4 each, values between -1 and 2, none on a rounding tie of the scales below.
    private static readonly float[][] CalibrationInputs =
    [
        [.. Enumerable.Range(0, 16).Select(i => -1f + (i * 0.19f))],
        [.. Enumerable.Range(0, 16).Select(i => 2f - (i * 0.17f))],
        [.. Enumerable.Range(0, 16).Select(i => ((i * 7) % 11 * 0.27f) - 0.9f)],
    ];

    private static readonly float[] HeldOut = [.. Enumerable.Range(0, 16).Select(i => ((i * 5) % 13 * 0.21f) - 0.7f)];

    [Theory]
    [InlineData(13, "")]
    [InlineData(9, "com.microsoft")]
    public void Rewrite_ConvWithBatchNormalization_FoldsItAndPutsTheConvBetweenQdqPairs(int opset, string qdqDomain)
    {
        using var folder = new OptimizationFolder(SmallConvModel.Build(opset));
        var calibration = folder.Calibration(CalibrationInputs.Select(x => OptimizationFolder.Row("x", x)));

        var result = new StaticQuantization().Rewrite(folder.Request(calibration), CancellationToken.None);

        var nodes = result.Model.Graph.Node;
        Assert.DoesNotContain(nodes, node => node.OpType == "BatchNormalization");
        Assert.Equal(["QuantizeLinear", "DequantizeLinear", "DequantizeLinear", "DequantizeLinear", "Conv", "QuantizeLinear", "DequantizeLinear", "Flatten"], nodes.Select(node => node.OpType));
        Assert.All(nodes.Where(node => node.OpType.EndsWith("Linear", StringComparison.Ordinal)), node => Assert.Equal(qdqDomain, node.Domain));
        var conv = nodes.Single(node => node.OpType == "Conv");
        Assert.Equal("x_quantized", Producer(result.Model, conv.Input[0]).Input[0]);
        Assert.Equal(TensorData.Int8, Initializer(result.Model, Producer(result.Model, conv.Input[1]).Input[0]).DataType);
        Assert.Equal(TensorData.Int32, Initializer(result.Model, Producer(result.Model, conv.Input[2]).Input[0]).DataType);
        Assert.Equal(conv.Output[0], nodes[5].Input[0]);
        Assert.Equal(nodes[6].Output[0], nodes[7].Input[0]);
        Assert.DoesNotContain(result.Model.Graph.Initializer, tensor => tensor.Name is "w" or "b");
        Assert.Equal(1, result.RewrittenNodes);
        Assert.Equal("3", result.Settings["calibration_rows"]);
        Assert.Equal("2", result.Settings["qdq_pairs"]);
        Assert.Equal("1", result.Settings["batch_normalization_folded"]);
        Assert.Contains("QLinearConv=1", result.Settings["fused_by_onnxruntime"], StringComparison.Ordinal);
        if (qdqDomain.Length > 0)
        {
            Assert.Contains(result.Model.OpsetImport, opsetImport => opsetImport.Domain == qdqDomain && opsetImport.Version == 1);
            // QLinearConv, which ONNX Runtime fuses the group into, exists from opset 10: the model is raised to it.
            Assert.Equal(10, result.Model.OpsetImport.Single(opsetImport => opsetImport.Domain.Length == 0).Version);
        }
    }

    [Theory]
    [InlineData(13)]
    [InlineData(9)]
    public void Rewrite_ConvWithBatchNormalization_RunsAsTheHandComputedIntegerConvolution(int opset)
    {
        using var folder = new OptimizationFolder(SmallConvModel.Build(opset));
        var calibration = folder.Calibration(CalibrationInputs.Select(x => OptimizationFolder.Row("x", x)));
        var weights = SmallConvModel.FoldedWeights;
        var bias = SmallConvModel.FoldedBias;

        // The calibrated ranges: the inputs' values and the folded convolution's outputs over the calibration rows.
        var (inputScale, inputZero) = UInt8Range(CalibrationInputs.SelectMany(x => x));
        var (outputScale, outputZero) = UInt8Range(CalibrationInputs.SelectMany(x => SmallConvModel.Convolve(x, weights, bias)));
        var weightScale = weights.Max(MathF.Abs) / 127f;
        var quantizedWeights = weights.Select(w => (int)MathF.Round(w / weightScale, MidpointRounding.ToEven)).ToArray();
        var quantizedBias = (int)Math.Round(bias / (double)(inputScale * weightScale), MidpointRounding.ToEven);
        var quantizedInput = HeldOut.Select(x => Math.Clamp((int)MathF.Round(x / inputScale, MidpointRounding.ToEven) + inputZero, 0, 255)).ToArray();
        var expected = new float[4];
        for (var output = 0; output < 4; output++)
        {
            var (row, column) = (output / 2, output % 2);
            var accumulator = quantizedBias;
            for (var i = 0; i < 3; i++)
            {
                for (var j = 0; j < 3; j++)
                {
                    accumulator += (quantizedInput[((row + i) * 4) + column + j] - inputZero) * quantizedWeights[(i * 3) + j];
                }
            }

            var requantized = Math.Clamp((int)MathF.Round(accumulator * (inputScale * weightScale / outputScale), MidpointRounding.ToEven) + outputZero, 0, 255);
            expected[output] = (requantized - outputZero) * outputScale;
        }

        var result = new StaticQuantization().Rewrite(folder.Request(calibration), CancellationToken.None);
        using var run = new OrtRun(result.Model);
        var actual = run.Run("x", HeldOut, [1, 1, 4, 4]);

        var conv = result.Model.Graph.Node.Single(node => node.OpType == "Conv");
        Assert.Equal(quantizedWeights.Select(w => (sbyte)w), Int8s(result.Model, Producer(result.Model, conv.Input[1]).Input[0]));
        Assert.Equal([quantizedBias], Int32s(result.Model, Producer(result.Model, conv.Input[2]).Input[0]));
        Assert.Equal(inputScale, Scalar(result.Model, "x_scale"));
        Assert.Equal(expected, actual, (e, a) => MathF.Abs(e - a) <= 1e-6f);

        // Against float: each input off by at most half its step, each weight by half its step, the bias by half
        // its step, and the output by half its own step.
        var exact = SmallConvModel.Convolve(HeldOut, weights, bias);
        for (var output = 0; output < 4; output++)
        {
            var (row, column) = (output / 2, output % 2);
            var bound = (outputScale / 2) + (inputScale * weightScale / 2);
            for (var i = 0; i < 3; i++)
            {
                for (var j = 0; j < 3; j++)
                {
                    var x = HeldOut[((row + i) * 4) + column + j];
                    var w = weights[(i * 3) + j];
                    bound += (MathF.Abs(w) * inputScale / 2) + ((MathF.Abs(x) + (inputScale / 2)) * weightScale / 2);
                }
            }

            Assert.InRange(MathF.Abs(actual[output] - exact[output]), 0f, bound);
        }
    }

    [Fact]
    public void Rewrite_PerTensorOption_GivesTheWeightOneScale()
    {
        using var folder = new OptimizationFolder(SmallConvModel.Build(13));
        var calibration = folder.Calibration(CalibrationInputs.Select(x => OptimizationFolder.Row("x", x)));

        var perChannel = new StaticQuantization().Rewrite(folder.Request(calibration), CancellationToken.None);
        var perTensor = new StaticQuantization().Rewrite(folder.Request(calibration, new RewriteOptions(PerChannel: false)), CancellationToken.None);

        var perChannelWeights = WeightDequantizer(perChannel.Model);
        var perTensorWeights = WeightDequantizer(perTensor.Model);
        Assert.Equal([1L], Initializer(perChannel.Model, perChannelWeights.Input[1]).Dims);
        Assert.Equal(0, perChannelWeights.Int("axis", -1));
        Assert.Empty(Initializer(perTensor.Model, perTensorWeights.Input[1]).Dims);
        Assert.DoesNotContain(perTensorWeights.Attribute, a => a.Name == "axis");
        Assert.StartsWith("int8 symmetric, per tensor", perTensor.Settings["weights"], StringComparison.Ordinal);
    }

    [Fact]
    public void Rewrite_ModelWithNothingQuantizable_SaysSo()
    {
        var iris = OnnxModelFile.Load(Path.Combine(TempModelRepository.SampleModels, "iris", "1", "model.onnx"));
        using var folder = new OptimizationFolder(iris);

        var error = Assert.Throws<OptimizationException>(() => new StaticQuantization().Rewrite(folder.Request(folder.File("none.jsonl")), CancellationToken.None));

        Assert.Equal("the model has no Conv, MatMul or Gemm with constant float weights: int8-static has nothing to quantize", error.Message);
    }

    [Fact]
    public void Rewrite_WithoutCalibrationFile_SaysWhatItNeeds()
    {
        using var folder = new OptimizationFolder(SmallConvModel.Build(13));

        var error = Assert.Throws<OptimizationException>(() => new StaticQuantization().Rewrite(folder.Request(null), CancellationToken.None));

        Assert.Equal("int8-static needs calibration rows: a JSON lines file of the model's inputs (--calibration FILE)", error.Message);
    }

    /// <summary>The uint8 scale and zero point of a range as ONNX Runtime's tool computes them: the range widened to hold 0.</summary>
    private static (float Scale, int ZeroPoint) UInt8Range(IEnumerable<float> values)
    {
        var list = values.ToList();
        var min = Math.Min(0f, list.Min());
        var max = Math.Max(0f, list.Max());
        var scale = (max - min) / 255f;
        return (scale, (int)MathF.Round(-min / scale, MidpointRounding.ToEven));
    }

    private static NodeProto WeightDequantizer(ModelProto model) => Producer(model, model.Graph.Node.Single(node => node.OpType == "Conv").Input[1]);

    private static NodeProto Producer(ModelProto model, string tensor) => model.Graph.Node.Single(node => node.Output.Contains(tensor));

    private static TensorProto Initializer(ModelProto model, string name) => model.Graph.Initializer.Single(tensor => tensor.Name == name);

    private static sbyte[] Int8s(ModelProto model, string name) => [.. Initializer(model, name).RawData.Select(b => (sbyte)b)];

    private static int[] Int32s(ModelProto model, string name) => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(Initializer(model, name).RawData.Span).ToArray();

    private static float Scalar(ModelProto model, string name) => TensorData.ReadFloats(Initializer(model, name)).Single();
}

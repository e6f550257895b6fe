using Microsoft.ML.OnnxRuntime;
using Onnx;
using Serverless.Inference.Optimization;
using Serverless.Inference.Optimization.Onnx;
using Serverless.Inference.Optimization.Quantization;
using Serverless.Inference.Repository;
using Serverless.Inference.Tests.Optimization.Support;

namespace Serverless.Inference.Tests.Optimization;

/// <summary>
/// The int8-dynamic rewrite on small generated graphs: the nodes it leaves, ONNX Runtime's result on them against the
/// int8 arithmetic done by hand (and against the float result within the quantization error), and ONNX Runtime's
/// fusion of the pattern into DynamicQuantizeMatMul.
/// </summary>
public sealed class DynamicQuantizationTests
{
    // A is [1, 4]; W is [4, 3] with column maxima 1.27, 2.54 and 0.9 (scales 0.01, 0.02, 0.9/127).
    private static readonly float[] A = [0f, 1.275f, 2.55f, -1.275f];

    private static readonly float[] W =
    [
        1.27f, -2.54f, 0.3f,
        -0.62f, 0.5f, 0.6f,
        0f, 1f, -0.9f,
        0.13f, 2f, 0.381f,
    ];

    [Fact]
    public void Rewrite_MatMulWithConstantWeight_OnnxRuntimeDynamicPatternKeepingTheOutputName()
    {
        var source = MatMulModel(13);

        var result = Rewrite(source);

        var graph = result.Model.Graph;
        Assert.Equal(["DynamicQuantizeLinear", "MatMulInteger", "Cast", "Mul", "Mul"], graph.Node.Select(node => node.OpType));
        Assert.Equal("y", graph.Node[^1].Output.Single());
        Assert.Equal(graph.Node[0].Output[1], graph.Node[3].Input[0]);
        Assert.DoesNotContain(graph.Initializer, tensor => tensor.Name == "W");
        Assert.Equal(1, result.RewrittenNodes);
        Assert.Equal("MatMul", result.Settings["operators"]);
        Assert.Equal("int8 symmetric per-channel", result.Settings["weights"]);
        Assert.Equal("uint8 per-tensor, quantized at run time", result.Settings["activations"]);

        // Column 0 scale 0.01, column 1 scale 0.02, column 2 scale 0.9/127: 0.3/s = 42.3, 0.6/s = 84.7, 0.381/s = 53.8.
        var weights = Initializer(graph, graph.Node[1].Input[1]);
        Assert.Equal(TensorData.Int8, weights.DataType);
        Assert.Equal([4L, 3L], weights.Dims);
        Assert.Equal([127, -127, 42, -62, 25, 85, 0, 50, -127, 13, 100, 54], weights.RawData.Select(b => (int)(sbyte)b));
        Assert.Equal([1.27f / 127f, 2.54f / 127f, 0.9f / 127f], TensorData.ReadFloats(Initializer(graph, graph.Node[3].Input[1])));
        Assert.Equal([0, 0, 0], Initializer(graph, graph.Node[1].Input[3]).RawData.Select(b => (int)(sbyte)b));

        // The source model is untouched.
        Assert.Equal(["MatMul"], source.Graph.Node.Select(node => node.OpType));
    }

    [Theory]
    [InlineData(GraphOptimizationLevel.ORT_DISABLE_ALL)]
    [InlineData(GraphOptimizationLevel.ORT_ENABLE_ALL)]
    public void Rewrite_MatMul_OnnxRuntimeComputesTheInt8ArithmeticDoneByHand(GraphOptimizationLevel level)
    {
        var rewritten = Rewrite(MatMulModel(13)).Model;

        var actual = TinyGraph.Run(rewritten, level, ("A", A, [1, 4]));

        // A in [-1.275, 2.55]: scale 3.825/255 = 0.015, zero point 85, so A_q = 85, 170, 255, 0 and A_q - 85 = 0, 85, 170, -85.
        var (quantizedA, scaleA, zeroPointA) = DynamicQuantizeLinear(A);
        Assert.Equal([85, 170, 255, 0], quantizedA.Select(v => (int)v));
        Assert.Equal(85, zeroPointA);
        // Column 0: 85·(-62) + (-85)·13 = -6375, times 0.015·0.01; column 1: 85·25 + 170·50 + (-85)·100 = 2125, times 0.015·0.02.
        Assert.Equal(-6375 * 0.015f * 0.01f, actual[0], 1e-5f);
        Assert.Equal(2125 * 0.015f * 0.02f, actual[1], 1e-5f);
        var expected = IntegerMatMul(quantizedA, zeroPointA, scaleA, [127, -127, 42, -62, 25, 85, 0, 50, -127, 13, 100, 54], [0.01f, 0.02f, 0.9f / 127f], rows: 1, inner: 4, columns: 3);
        AssertClose(expected, actual, 1e-5f);
        AssertWithinQuantizationError(A, W, 1, 4, 3, scaleA, [0.01f, 0.02f, 0.9f / 127f], actual);
    }

    [Fact]
    public void Rewrite_MatMul_OnnxRuntimeFusesItIntoDynamicQuantizeMatMul()
    {
        var rewritten = Rewrite(MatMulModel(13)).Model;

        var optimized = TinyGraph.Optimized(rewritten, GraphOptimizationLevel.ORT_ENABLE_EXTENDED);

        var fused = Assert.Single(optimized.Graph.Node);
        Assert.Equal("DynamicQuantizeMatMul", fused.OpType);
        Assert.Equal("com.microsoft", fused.Domain);
        Assert.Equal("y", fused.Output.Single());
    }

    [Fact]
    public void Rewrite_TwoMatMulsReadingOneActivation_OneQuantizeSharedAndBothFused()
    {
        var model = TinyGraph.Model(
            13,
            [GraphEditor.Node("MatMul", "left", ["A", "W"], ["y"]), GraphEditor.Node("MatMul", "right", ["A", "V"], ["z"])],
            [TinyGraph.Floats("A", 1, 4)],
            [TinyGraph.Floats("y", 1, 3), TinyGraph.Floats("z", 1, 3)],
            TensorData.Floats("W", [4, 3], W),
            TensorData.Floats("V", [4, 3], [.. W.Select(w => -2 * w)]));

        var rewritten = Rewrite(model).Model;

        Assert.Equal(
            ["DynamicQuantizeLinear", "MatMulInteger", "Cast", "Mul", "Mul", "MatMulInteger", "Cast", "Mul", "Mul"],
            rewritten.Graph.Node.Select(node => node.OpType));
        // With two readers the quantized activation cannot move into either node: each becomes MatMulIntegerToFloat.
        var optimized = TinyGraph.Optimized(rewritten, GraphOptimizationLevel.ORT_ENABLE_EXTENDED);
        Assert.Equal(["DynamicQuantizeLinear", "MatMulIntegerToFloat", "MatMulIntegerToFloat"], optimized.Graph.Node.Select(node => node.OpType));
        var y = TinyGraph.Run(rewritten, GraphOptimizationLevel.ORT_ENABLE_ALL, ("A", A, [1, 4]));
        Assert.Equal(-6375 * 0.015f * 0.01f, y[0], 1e-5f);
    }

    [Fact]
    public void Rewrite_PerTensorOption_OneScalarScaleForTheWeight()
    {
        var result = Rewrite(MatMulModel(13), RewriteOptions.Default with { PerChannel = false });

        var graph = result.Model.Graph;
        var scale = Initializer(graph, graph.Node[3].Input[1]);
        Assert.Empty(scale.Dims);
        Assert.Equal([2.54f / 127f], TensorData.ReadFloats(scale));
        Assert.Equal("int8 symmetric per-tensor", result.Settings["weights"]);
        var actual = TinyGraph.Run(result.Model, GraphOptimizationLevel.ORT_ENABLE_ALL, ("A", A, [1, 4]));
        var (quantizedA, scaleA, zeroPointA) = DynamicQuantizeLinear(A);
        var perTensor = WeightQuantizer.Int8Symmetric(W, [4, 3], axis: -1);
        var expected = IntegerMatMul(quantizedA, zeroPointA, scaleA, [.. perTensor.Values.Select(v => (int)v)], [.. Enumerable.Repeat(perTensor.Scales[0], 3)], 1, 4, 3);
        AssertClose(expected, actual, 1e-5f);
        AssertWithinQuantizationError(A, W, 1, 4, 3, scaleA, [.. Enumerable.Repeat(perTensor.Scales[0], 3)], actual);
    }

    [Fact]
    public void Rewrite_GemmWithTransposedWeightAlphaBetaAndBias_QuantizedAndBiasAddedAfter()
    {
        // y = 0.5 · A · Bᵀ + 2 · C, with A [2, 3], B [2, 3] (transB), C [2].
        float[] a = [0.4f, -1.2f, 2f, 1f, 0.25f, -0.5f];
        float[] b = [1.27f, -0.3f, 0.5f, -0.2f, 0.8f, 2.54f];
        float[] c = [0.1f, -0.25f];
        var gemm = GraphEditor.Node("Gemm", "dense", ["A", "B", "C"], ["y"]).WithInt("transB", 1).WithFloat("alpha", 0.5f).WithFloat("beta", 2f);
        var model = TinyGraph.Model(
            13,
            [gemm],
            [TinyGraph.Floats("A", 2, 3)],
            [TinyGraph.Floats("y", 2, 2)],
            TensorData.Floats("B", [2, 3], b),
            TensorData.Floats("C", [2], c));
        var reference = TinyGraph.Run(model, GraphOptimizationLevel.ORT_DISABLE_ALL, ("A", a, [2, 3]));

        var result = Rewrite(model);

        var graph = result.Model.Graph;
        Assert.Equal(["DynamicQuantizeLinear", "MatMulInteger", "Cast", "Mul", "Mul", "Add"], graph.Node.Select(node => node.OpType));
        Assert.Equal("y", graph.Node[^1].Output.Single());
        Assert.Equal("Gemm", result.Settings["operators"]);
        // Bᵀ is [3, 2]: column 0 (1.27, -0.3, 0.5) scale 0.01 -> 127, -30, 50; column 1 (-0.2, 0.8, 2.54) scale 0.02 -> -10, 40, 127.
        var weights = Initializer(graph, graph.Node[1].Input[1]);
        Assert.Equal([3L, 2L], weights.Dims);
        Assert.Equal([127, -10, -30, 40, 50, 127], weights.RawData.Select(v => (int)(sbyte)v));
        // alpha is folded into the weight scales, beta into the bias.
        Assert.Equal([0.5f * 1.27f / 127f, 0.5f * 2.54f / 127f], TensorData.ReadFloats(Initializer(graph, graph.Node[3].Input[1])));
        Assert.Equal([0.2f, -0.5f], TensorData.ReadFloats(Initializer(graph, graph.Node[5].Input[1])));

        var actual = TinyGraph.Run(result.Model, GraphOptimizationLevel.ORT_ENABLE_ALL, ("A", a, [2, 3]));
        var (quantizedA, scaleA, zeroPointA) = DynamicQuantizeLinear(a);
        float[] scales = [0.5f * 1.27f / 127f, 0.5f * 2.54f / 127f];
        var expected = IntegerMatMul(quantizedA, zeroPointA, scaleA, [127, -10, -30, 40, 50, 127], scales, rows: 2, inner: 3, columns: 2);
        for (var i = 0; i < expected.Length; i++)
        {
            expected[i] += 2f * c[i % 2];
        }

        AssertClose(expected, actual, 1e-5f);
        var transposed = new[] { b[0], b[3], b[1], b[4], b[2], b[5] };
        var bias = new[] { 2f * c[0], 2f * c[1], 2f * c[0], 2f * c[1] };
        AssertWithinQuantizationError(a, [.. transposed.Select(v => 0.5f * v)], 2, 3, 2, scaleA, scales, [.. actual.Select((v, i) => v - bias[i])]);
        AssertClose(reference, actual, 0.1f);
    }

    [Fact]
    public void Rewrite_GemmWithBias_FusedWithItsBiasIntoDynamicQuantizeMatMul()
    {
        var model = TinyGraph.Model(
            13,
            [GraphEditor.Node("Gemm", "dense", ["A", "B", "C"], ["y"])],
            [TinyGraph.Floats("A", 1, 4)],
            [TinyGraph.Floats("y", 1, 3)],
            TensorData.Floats("B", [4, 3], W),
            TensorData.Floats("C", [3], [0.5f, -1f, 0.25f]));

        var optimized = TinyGraph.Optimized(Rewrite(model).Model, GraphOptimizationLevel.ORT_ENABLE_EXTENDED);

        var fused = Assert.Single(optimized.Graph.Node);
        Assert.Equal("DynamicQuantizeMatMul", fused.OpType);
        Assert.Equal(5, fused.Input.Count);
    }

    [Theory]
    [InlineData(13, "DequantizeLinear")]
    [InlineData(12, "Mul")]
    public void Rewrite_GatherFromConstantTable_GathersInt8RowsThenDequantizes(int opset, string lastOp)
    {
        // Column maxima 1.27, 2.54, 0.127: scales 0.01, 0.02, 0.001.
        float[] table =
        [
            1.27f, -2.54f, 0.127f,
            0.5f, -1f, 0.05f,
            0.333f, 0f, -0.127f,
            -1.27f, 2.54f, 0f,
            0f, 0.026f, 0.0631f,
        ];
        var model = TinyGraph.Model(
            opset,
            [GraphEditor.Node("Gather", "embed", ["table", "ids"], ["rows"])],
            [TinyGraph.Tensor("ids", TensorData.Int64, 2, 2)],
            [TinyGraph.Floats("rows", 2, 2, 3)],
            TensorData.Floats("table", [5, 3], table));

        var result = Rewrite(model);

        var graph = result.Model.Graph;
        Assert.Equal("Gather", graph.Node[0].OpType);
        Assert.Equal(lastOp, graph.Node[^1].OpType);
        Assert.Equal("rows", graph.Node[^1].Output.Single());
        var quantized = Initializer(graph, graph.Node[0].Input[0]);
        Assert.Equal(TensorData.Int8, quantized.DataType);
        Assert.DoesNotContain(graph.Initializer, tensor => tensor.Name == "table");
        Assert.Equal("Gather", result.Settings["operators"]);

        var actual = TinyGraph.Run(result.Model, GraphOptimizationLevel.ORT_ENABLE_ALL, ("ids", new long[] { 2, 0, 4, 2 }, [2, 2]));

        // Row 2: 0.333/0.01 = 33.3 -> 0.33; row 4: 0.026/0.02 = 1.3 -> 0.02, 0.0631/0.001 = 63.1 -> 0.063.
        float[] row0 = [1.27f, -2.54f, 0.127f];
        float[] row2 = [0.33f, 0f, -0.127f];
        float[] row4 = [0f, 0.02f, 0.063f];
        AssertClose([.. row2, .. row0, .. row4, .. row2], actual, 1e-6f);
    }

    [Fact]
    public void Rewrite_EmbeddingsNotAsked_GatherKeptInFloat()
    {
        var model = TinyGraph.Model(
            13,
            [GraphEditor.Node("Gather", "embed", ["table", "ids"], ["rows"]), GraphEditor.Node("MatMul", "project", ["rows", "W"], ["y"])],
            [TinyGraph.Tensor("ids", TensorData.Int64, 1)],
            [TinyGraph.Floats("y", 1, 3)],
            TensorData.Floats("table", [2, 4], [.. A, .. A]),
            TensorData.Floats("W", [4, 3], W));

        var result = Rewrite(model, RewriteOptions.Default with { QuantizeEmbeddings = false });

        Assert.Equal("Gather", result.Model.Graph.Node[0].OpType);
        Assert.Contains(result.Model.Graph.Initializer, tensor => tensor.Name == "table" && tensor.DataType == TensorData.Float);
        Assert.Equal("MatMul", result.Settings["operators"]);
        Assert.Equal("float", result.Settings["embeddings"]);
    }

    [Fact]
    public void Rewrite_NothingQuantizable_RefusedNamingWhatItLookedFor()
    {
        // A MatMul of two computed tensors has no constant weight to store as int8.
        var model = TinyGraph.Model(
            13,
            [GraphEditor.Node("MatMul", "attention", ["q", "k"], ["scores"]), GraphEditor.Node("Relu", "relu", ["scores"], ["y"])],
            [TinyGraph.Floats("q", 2, 4), TinyGraph.Floats("k", 4, 2)],
            [TinyGraph.Floats("y", 2, 2)]);

        var error = Assert.Throws<OptimizationException>(() => Rewrite(model));

        Assert.Contains("found nothing to quantize", error.Message, StringComparison.Ordinal);
        Assert.Contains("MatMul and Gemm nodes whose weight (input B) is a constant 2-D float tensor", error.Message, StringComparison.Ordinal);
        Assert.Contains("Gather", error.Message, StringComparison.Ordinal);
        Assert.Contains("1 MatMul, 1 Relu", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rewrite_Opset9Model_RefusedNamingTheOpsetNeeded()
    {
        var error = Assert.Throws<OptimizationException>(() => Rewrite(MatMulModel(9)));

        Assert.Contains("needs ONNX opset 11 or later", error.Message, StringComparison.Ordinal);
        Assert.Contains("imports opset 9", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rewrite_WeightInAConstantNode_QuantizedAfterNormalization()
    {
        var constant = GraphEditor.Node("Constant", "weights", [], ["W"]);
        constant.Attribute.Add(new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = TensorData.Floats("W", [4, 3], W) });
        var model = TinyGraph.Model(13, [constant, GraphEditor.Node("MatMul", "project", ["A", "W"], ["y"])], [TinyGraph.Floats("A", 1, 4)], [TinyGraph.Floats("y", 1, 3)]);

        var result = Rewrite(model);

        Assert.Equal(["DynamicQuantizeLinear", "MatMulInteger", "Cast", "Mul", "Mul"], result.Model.Graph.Node.Select(node => node.OpType));
        Assert.Equal(-6375 * 0.015f * 0.01f, TinyGraph.Run(result.Model, GraphOptimizationLevel.ORT_ENABLE_ALL, ("A", A, [1, 4]))[0], 1e-5f);
    }

    private static ModelProto MatMulModel(int opset) => TinyGraph.Model(
        opset,
        [GraphEditor.Node("MatMul", "project", ["A", "W"], ["y"])],
        [TinyGraph.Floats("A", 1, 4)],
        [TinyGraph.Floats("y", 1, 3)],
        TensorData.Floats("W", [4, 3], W));

    private static RewriteResult Rewrite(ModelProto model, RewriteOptions? options = null) =>
        new DynamicQuantization().Rewrite(new RewriteRequest(model, Path.GetTempPath(), new ModelManifest(), null, options ?? RewriteOptions.Default), CancellationToken.None);

    private static TensorProto Initializer(GraphProto graph, string name) => graph.Initializer.Single(tensor => tensor.Name == name);

    /// <summary>What DynamicQuantizeLinear does, per the ONNX specification: the range widened to hold 0, uint8, rounding half to even.</summary>
    private static (byte[] Values, float Scale, byte ZeroPoint) DynamicQuantizeLinear(float[] x)
    {
        var min = Math.Min(0f, x.Min());
        var max = Math.Max(0f, x.Max());
        var scale = (max - min) / 255f;
        var zeroPoint = (byte)Math.Clamp(MathF.Round(-min / scale, MidpointRounding.ToEven), 0f, 255f);
        var values = x.Select(v => (byte)Math.Clamp(MathF.Round(v / scale, MidpointRounding.ToEven) + zeroPoint, 0f, 255f)).ToArray();
        return (values, scale, zeroPoint);
    }

    /// <summary>The integer product of the quantized operands, rescaled once per output column as the rewritten graph does.</summary>
    private static float[] IntegerMatMul(byte[] a, byte zeroPoint, float scaleA, int[] w, float[] scalesW, int rows, int inner, int columns)
    {
        var result = new float[rows * columns];
        for (var m = 0; m < rows; m++)
        {
            for (var n = 0; n < columns; n++)
            {
                var sum = 0;
                for (var k = 0; k < inner; k++)
                {
                    sum += (a[(m * inner) + k] - zeroPoint) * w[(k * columns) + n];
                }

                result[(m * columns) + n] = sum * (scaleA * scalesW[n]);
            }
        }

        return result;
    }

    /// <summary>
    /// |Σ a·w − Σ â·ŵ| ≤ Σ (|w|·sa/2 + |a|·sw/2 + sa·sw/4): each operand is off by at most half its step.
    /// </summary>
    private static void AssertWithinQuantizationError(float[] a, float[] w, int rows, int inner, int columns, float scaleA, float[] scalesW, float[] actual)
    {
        for (var m = 0; m < rows; m++)
        {
            for (var n = 0; n < columns; n++)
            {
                double exact = 0;
                double bound = 0;
                for (var k = 0; k < inner; k++)
                {
                    var (x, y) = (a[(m * inner) + k], w[(k * columns) + n]);
                    exact += (double)x * y;
                    bound += (Math.Abs(y) * scaleA / 2) + (Math.Abs(x) * scalesW[n] / 2) + (scaleA * scalesW[n] / 4);
                }

                var error = Math.Abs(exact - actual[(m * columns) + n]);
                Assert.True(error <= bound + 1e-6, $"[{m},{n}]: int8 result {actual[(m * columns) + n]} is {error:E2} from the float {exact}, beyond the bound {bound:E2}");
                Assert.True(bound < 0.25 * (1 + Math.Abs(exact)), $"[{m},{n}]: the bound {bound:E2} is too loose to mean anything");
            }
        }
    }

    private static void AssertClose(float[] expected, float[] actual, float tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance * Math.Max(1f, Math.Abs(expected[i])), $"[{i}]: expected {expected[i]}, got {actual[i]}");
        }
    }
}

using Onnx;
using Serverless.Inference.Optimization;
using Serverless.Inference.Optimization.Onnx;
using static Serverless.Inference.Tests.Optimization.Float16Graphs;

namespace Serverless.Inference.Tests.Optimization;

/// <summary>
/// The fp16 rewrite on small graphs built in the test, run by the real ONNX Runtime and checked against results worked
/// out by hand with every FP16 rounding the conversion implies ((float)(Half)w).
/// </summary>
public sealed class Float16ConversionTests
{
    // Values FP16 cannot hold exactly, so that a result with FP32 weights and one with FP16 weights differ.
    private static readonly float[] Weights = [0.1f, -0.3337f, 1.0001f, 2.71828f, 100.03f, -0.5f];
    private static readonly float[] Bias = [0.123456f, -7.77f];
    private static readonly float[] Input = [1.5f, -2.25f, 0.3f];

    [Fact]
    public void Rewrite_MatMulAddRelu_StoresWeightsAsFp16AndKeepsTheSignatureFp32()
    {
        var result = Fp16(MatMulAddRelu());

        var graph = result.Model.Graph;
        Assert.Equal(FloatType, ElementType(Assert.Single(graph.Input)));
        Assert.Equal(FloatType, ElementType(Assert.Single(graph.Output)));
        Assert.Equal([.. Weights.Select(RoundToHalf)], HalfValues(Initializer(result.Model, "W")));
        Assert.Equal([.. Bias.Select(RoundToHalf)], HalfValues(Initializer(result.Model, "B")));
        Assert.Equal("fp16", result.Settings["weights"]);
        Assert.Equal("Add,MatMul,Relu", result.Settings["kept_fp32"]);
        Assert.Equal("0", result.Settings["clamped"]);
        Assert.Equal("2", result.Settings["converted_initializers"]);

        // MatMul and Add have no FP16 CPU kernel: each reads its weight through a Cast back to float.
        foreach (var (op, weight) in new[] { ("MatMul", "W"), ("Add", "B") })
        {
            var node = graph.Node.Single(node => node.OpType == op);
            var cast = Producer(result.Model, node.Input[1]);
            Assert.Equal(FloatType, CastTo(cast));
            Assert.Equal(weight, Assert.Single(cast.Input));
        }
    }

    [Fact]
    public void Rewrite_MatMulAddRelu_RunsToTheResultOfFp16RoundedWeights()
    {
        var result = Fp16(MatMulAddRelu());

        var actual = Run(result.Model, "x", Input, 1, 3);

        var expected = Expected(Weights.Select(RoundToHalf).ToArray(), Bias.Select(RoundToHalf).ToArray());
        var unrounded = Expected(Weights, Bias);
        Assert.Equal(2, actual.Length);
        for (var j = 0; j < 2; j++)
        {
            Assert.InRange(actual[j], expected[j] - 1e-4f, expected[j] + 1e-4f);
        }

        // The rounding is visible: the FP32 weights give another answer.
        Assert.True(Math.Abs(unrounded[0] - actual[0]) > 1e-3, $"{unrounded[0]} vs {actual[0]}");
    }

    [Fact]
    public void Rewrite_OpWithoutFp16KernelBetweenFp16Ops_IsWrappedInCastsBothSides()
    {
        // x -> Max(x, c) -> Relu -> Min(r, d) -> y at opset 13: Max and Min have FP16 CPU kernels, Relu does not.
        var model = Model(13);
        var graph = model.Graph;
        graph.Input.Add(Value("x", FloatType, 1, 4));
        graph.Output.Add(Value("y", FloatType, 1, 4));
        graph.ValueInfo.Add(Value("m", FloatType, 1, 4));
        graph.Initializer.Add(TensorData.Floats("c", [4], [-1.0001f, 0.3f, 2.5f, -7.1f]));
        graph.Initializer.Add(TensorData.Floats("d", [4], [5.0f, 0.7f, 1.3333f, 1000.7f]));
        graph.Node.Add(Node("Max", ["x", "c"], ["m"]));
        graph.Node.Add(Node("Relu", ["m"], ["r"]));
        graph.Node.Add(Node("Min", ["r", "d"], ["y"]));

        var result = Fp16(model);
        var converted = result.Model;

        Assert.Equal("Max,Min", result.Settings["fp16_ops"]);
        Assert.Equal("Relu", result.Settings["kept_fp32"]);
        var relu = converted.Graph.Node.Single(node => node.OpType == "Relu");
        var before = Producer(converted, relu.Input[0]);
        Assert.Equal(FloatType, CastTo(before));
        Assert.Equal("m", Assert.Single(before.Input));
        var min = converted.Graph.Node.Single(node => node.OpType == "Min");
        var after = Producer(converted, min.Input[0]);
        Assert.Equal(HalfType, CastTo(after));
        Assert.Equal(relu.Output[0], Assert.Single(after.Input));
        Assert.Equal("d", min.Input[1]);

        // The graph input reaches Max through a Cast to FP16; Min's FP16 result leaves as y through a Cast to float.
        var max = converted.Graph.Node.Single(node => node.OpType == "Max");
        Assert.Equal(HalfType, CastTo(Producer(converted, max.Input[0])));
        var output = Producer(converted, "y");
        Assert.Equal(FloatType, CastTo(output));
        Assert.Equal(min.Output[0], Assert.Single(output.Input));
        Assert.Equal(FloatType, ElementType(Assert.Single(converted.Graph.Output)));
        Assert.Equal(HalfType, ElementType(converted.Graph.ValueInfo.Single(value => value.Name == "m")));
        Assert.Equal("4", result.Settings["casts"]);

        float[] x = [-3.0f, 0.2f, 2.6666f, -8.0f];
        var actual = Run(converted, "x", x, 1, 4);
        var c = HalfValues(Initializer(converted, "c"));
        var d = HalfValues(Initializer(converted, "d"));
        var expected = x.Select((value, i) => RoundToHalf(Math.Min(RoundToHalf(Math.Max(Math.Max(RoundToHalf(value), c[i]), 0f)), d[i]))).ToArray();
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void Rewrite_CastToFloatReadOnlyByFp16Ops_CastsToFp16Instead()
    {
        // ids int64 -> Cast(to=float) -> Max(f, c) -> y: the Cast feeds only an FP16 operator, so it produces FP16 itself.
        var model = Model(13);
        var graph = model.Graph;
        graph.Input.Add(Value("ids", Int64Type, 1, 3));
        graph.Output.Add(Value("y", FloatType, 1, 3));
        graph.Initializer.Add(TensorData.Floats("c", [3], [0.5f, 2.0f, 3.1416f]));
        graph.Node.Add(GraphEditor.Node("Cast", "cast", ["ids"], ["f"]).WithInt("to", FloatType));
        graph.Node.Add(Node("Max", ["f", "c"], ["y"]));

        var result = Fp16(model);

        var cast = result.Model.Graph.Node.Single(node => node.Name == "cast");
        Assert.Equal(HalfType, CastTo(cast));
        var max = result.Model.Graph.Node.Single(node => node.OpType == "Max");
        Assert.Equal("f", max.Input[0]);
        Assert.Equal("Cast,Max", result.Settings["fp16_ops"]);

        // 2049 has no FP16 of its own: the FP16 graph rounds it to 2048, as the conversion implies.
        long[] ids = [3, 1, 2049];
        var actual = Run(result.Model, "ids", ids, 1, 3);
        Assert.Equal([3f, 2f, 2048f], actual);
    }

    [Fact]
    public void Rewrite_CastToFloatAlsoReadByFp32Op_StaysFloat()
    {
        var model = Model(13);
        var graph = model.Graph;
        graph.Input.Add(Value("ids", Int64Type, 1, 3));
        graph.Output.Add(Value("y", FloatType, 1, 3));
        graph.Output.Add(Value("z", FloatType, 1, 3));
        graph.Initializer.Add(TensorData.Floats("c", [3], [0.5f, 2.0f, 3.1416f]));
        graph.Node.Add(GraphEditor.Node("Cast", "cast", ["ids"], ["f"]).WithInt("to", FloatType));
        graph.Node.Add(Node("Max", ["f", "c"], ["y"]));
        graph.Node.Add(Node("Relu", ["f"], ["z"]));

        var result = Fp16(model);

        Assert.Equal(FloatType, CastTo(result.Model.Graph.Node.Single(node => node.Name == "cast")));
        var max = result.Model.Graph.Node.Single(node => node.OpType == "Max");
        Assert.Equal(HalfType, CastTo(Producer(result.Model, max.Input[0])));
        Assert.Equal("f", result.Model.Graph.Node.Single(node => node.OpType == "Relu").Input[0]);
    }

    [Fact]
    public void Rewrite_WeightsBeyondFp16Range_AreClampedAndCounted()
    {
        var model = Model(13);
        var graph = model.Graph;
        graph.Input.Add(Value("x", FloatType, 1, 2));
        graph.Output.Add(Value("y", FloatType, 1, 2));
        float[] weights = [70000f, -1e6f, 3.4e38f, 1.5f];
        graph.Initializer.Add(TensorData.Floats("W", [2, 2], weights));
        graph.Node.Add(Node("MatMul", ["x", "W"], ["y"]));

        var result = Fp16(model);

        Assert.Equal("3", result.Settings["clamped"]);
        Assert.Equal([65504f, -65504f, 65504f, 1.5f], HalfValues(Initializer(result.Model, "W")));
        var actual = Run(result.Model, "x", new[] { 1f, 2f }, 1, 2);
        Assert.Equal([65504f + (2f * 65504f), -65504f + (2f * 1.5f)], actual);
    }

    [Fact]
    public void Rewrite_IntegerInputsAndNoFloatWeights_IsRefused()
    {
        var model = Model(13);
        var graph = model.Graph;
        graph.Input.Add(Value("ids", Int64Type, 1, 3));
        graph.Output.Add(Value("y", Int64Type, 1, 3));
        graph.Initializer.Add(TensorData.Int64s("offset", [3], [1, 2, 3]));
        graph.Node.Add(Node("Add", ["ids", "offset"], ["y"]));

        var error = Assert.Throws<OptimizationException>(() => Fp16(model));

        Assert.Contains("integers only", error.Message, StringComparison.Ordinal);
        Assert.Contains("no float weights", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rewrite_FloatInputsButNothingFp16CanHoldOrRun_IsRefused()
    {
        var model = Model(13);
        var graph = model.Graph;
        graph.Input.Add(Value("x", FloatType, 1, 3));
        graph.Output.Add(Value("y", FloatType, 1, 3));
        graph.Node.Add(Node("Relu", ["x"], ["y"]));

        var error = Assert.Throws<OptimizationException>(() => Fp16(model));

        Assert.Contains("nothing in the model can be stored or run in FP16", error.Message, StringComparison.Ordinal);
        Assert.Contains("Relu", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rewrite_IntegerInputsWithFloatWeights_Converts()
    {
        // The minilm case: int64 ids into a float embedding table. Gather moves FP16 rows; Mul has no FP16 kernel.
        var model = Model(13);
        var graph = model.Graph;
        graph.Input.Add(Value("ids", Int64Type, 2));
        graph.Output.Add(Value("y", FloatType, 2, 2));
        float[] table = [0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f];
        graph.Initializer.Add(TensorData.Floats("table", [3, 2], table));
        graph.Initializer.Add(TensorData.Floats("scale", [2], [3.3f, -1.7f]));
        graph.Node.Add(Node("Gather", ["table", "ids"], ["rows"]));
        graph.Node.Add(Node("Mul", ["rows", "scale"], ["y"]));

        var result = Fp16(model);

        Assert.Equal("Gather", result.Settings["fp16_ops"]);
        Assert.Equal("Mul", result.Settings["kept_fp32"]);
        var actual = Run(result.Model, "ids", new[] { 2L, 0L }, 2);
        float[] scale = [RoundToHalf(3.3f), RoundToHalf(-1.7f)];
        float[] expected = [RoundToHalf(0.5f) * scale[0], RoundToHalf(0.6f) * scale[1], RoundToHalf(0.1f) * scale[0], RoundToHalf(0.2f) * scale[1]];
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void Rewrite_ExternalDataTensor_IsRefused()
    {
        var model = MatMulAddRelu();
        var weights = Initializer(model, "W");
        weights.RawData = Google.Protobuf.ByteString.Empty;
        weights.DataLocation = TensorProto.Types.DataLocation.External;
        weights.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "weights.bin" });

        var error = Assert.Throws<OptimizationException>(() => Fp16(model));

        Assert.Contains("external file", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rewrite_LeavesTheSourceModelUnchanged()
    {
        var model = MatMulAddRelu();
        var before = model.Clone();

        Fp16(model);

        Assert.Equal(before, model);
    }

    /// <summary>y = Relu(x · W + B), x float [1, 3], W [3, 2], B [2].</summary>
    private static ModelProto MatMulAddRelu()
    {
        var model = Model(13);
        var graph = model.Graph;
        graph.Input.Add(Value("x", FloatType, 1, 3));
        graph.Output.Add(Value("y", FloatType, 1, 2));
        graph.Initializer.Add(TensorData.Floats("W", [3, 2], Weights));
        graph.Initializer.Add(TensorData.Floats("B", [2], Bias));
        graph.Node.Add(Node("MatMul", ["x", "W"], ["h"]));
        graph.Node.Add(Node("Add", ["h", "B"], ["a"]));
        graph.Node.Add(Node("Relu", ["a"], ["y"]));
        return model;
    }

    private static float[] Expected(float[] weights, float[] bias) =>
        [.. Enumerable.Range(0, 2).Select(j => Math.Max(0f, Enumerable.Range(0, 3).Sum(i => Input[i] * weights[(i * 2) + j]) + bias[j]))];
}

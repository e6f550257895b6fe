using Onnx;
using Serverless.Inference.Optimization.Float16;
using Serverless.Inference.Optimization.Onnx;
using static Serverless.Inference.Tests.Optimization.Float16Graphs;

namespace Serverless.Inference.Tests.Optimization;

/// <summary>
/// What the fp16 rewrite learns from ONNX Runtime: the operator named in a real load error, and an operator the
/// runtime refused kept in FP32 on the next pass.
/// </summary>
public sealed class RuntimeKernelCheckTests
{
    [Fact]
    public void Check_ConvertedGraph_Loads()
    {
        var pass = Float16GraphConverter.Convert(MaxGraph(), new HashSet<string>(), CancellationToken.None);

        var check = RuntimeKernelCheck.Check(pass.Model);

        Assert.True(check.Loaded, check.Error);
    }

    [Fact]
    public void Check_OperatorWithoutFp16_NamesItFromTheRuntimesError()
    {
        // Range takes no FP16 (its schema allows float, double and integers): ONNX Runtime refuses the graph.
        var model = Model(13);
        var graph = model.Graph;
        graph.Output.Add(Value("y", FloatType, 4));
        graph.Initializer.Add(TensorData.Halves("start", [], [(Half)0]));
        graph.Initializer.Add(TensorData.Halves("limit", [], [(Half)4]));
        graph.Initializer.Add(TensorData.Halves("delta", [], [(Half)1]));
        graph.Node.Add(Node("Range", ["start", "limit", "delta"], ["r"]));
        graph.Node.Add(GraphEditor.Node("Cast", "cast", ["r"], ["y"]).WithInt("to", FloatType));

        var check = RuntimeKernelCheck.Check(model);

        Assert.False(check.Loaded);
        Assert.True(check.Operator == "Range", check.Error);
    }

    [Theory]
    [InlineData("[ONNXRuntimeError] : 9 : NOT_IMPLEMENTED : Could not find an implementation for Relu(14) node with name 'relu_1'", "Relu")]
    [InlineData("Load model failed:Type Error: Type (tensor(float16)) of input parameter (x) of operator (HardSigmoid) in node (n) is invalid.", "HardSigmoid")]
    [InlineData("This is an invalid model. Type Error: Type 'tensor(float16)' of input parameter (start) of operator (Range) in node (r_node) is invalid.", "Range")]
    [InlineData("[ONNXRuntimeError] : 1 : FAIL : Protobuf parsing failed.", null)]
    public void RefusedOperator_ReadsTheOperatorOfEachKindOfError(string message, string? expected) =>
        Assert.Equal(expected, RuntimeKernelCheck.RefusedOperator(message));

    [Fact]
    public void Convert_RefusedOperator_StaysFp32WithCasts()
    {
        var pass = Float16GraphConverter.Convert(MaxGraph(), new HashSet<string>(StringComparer.Ordinal) { "Max" }, CancellationToken.None);

        Assert.Empty(pass.Float16Ops);
        Assert.Equal(["Max"], pass.KeptFloat32Ops);
        var max = pass.Model.Graph.Node.Single(node => node.OpType == "Max");
        Assert.Equal("x", max.Input[0]);
        Assert.Equal(FloatType, CastTo(Producer(pass.Model, max.Input[1])));
        Assert.Equal(1, pass.ConvertedInitializers);
    }

    private static ModelProto MaxGraph()
    {
        var model = Model(13);
        var graph = model.Graph;
        graph.Input.Add(Value("x", FloatType, 1, 3));
        graph.Output.Add(Value("y", FloatType, 1, 3));
        graph.Initializer.Add(TensorData.Floats("c", [3], [0.5f, -2f, 9.99f]));
        graph.Node.Add(Node("Max", ["x", "c"], ["y"]));
        return model;
    }
}

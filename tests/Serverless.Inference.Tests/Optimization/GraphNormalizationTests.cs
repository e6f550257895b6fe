using Microsoft.ML.OnnxRuntime;
using Onnx;
using Serverless.Inference.Optimization.Onnx;
using Serverless.Inference.Tests.Optimization.Support;

namespace Serverless.Inference.Tests.Optimization;

/// <summary>Constants end up as initializers that are not graph inputs, and the graph still computes the same.</summary>
public sealed class GraphNormalizationTests
{
    [Fact]
    public void Normalize_ConstantNode_BecomesAnInitializerOfTheSameName()
    {
        var constant = GraphEditor.Node("Constant", "weights_constant", [], ["weights"]);
        constant.Attribute.Add(new AttributeProto
        {
            Name = "value",
            Type = AttributeProto.Types.AttributeType.Tensor,
            T = TensorData.Floats("ignored", [2], [1.5f, -2f]),
        });
        var model = TinyGraph.Model(
            13,
            [constant, GraphEditor.Node("Mul", "scale", ["x", "weights"], ["y"])],
            [TinyGraph.Floats("x", 2)],
            [TinyGraph.Floats("y", 2)]);
        var before = TinyGraph.Run(model, GraphOptimizationLevel.ORT_DISABLE_ALL, ("x", new[] { 2f, 3f }, [2]));

        GraphNormalization.Normalize(model);

        Assert.Equal(["Mul"], model.Graph.Node.Select(node => node.OpType));
        var initializer = Assert.Single(model.Graph.Initializer);
        Assert.Equal("weights", initializer.Name);
        Assert.Equal([1.5f, -2f], TensorData.ReadFloats(initializer));
        Assert.Equal([3f, -6f], before);
        Assert.Equal(before, TinyGraph.Run(model, GraphOptimizationLevel.ORT_DISABLE_ALL, ("x", new[] { 2f, 3f }, [2])));
    }

    [Fact]
    public void Normalize_InitializersListedAsInputs_RemovedFromInputsAndIrRaised()
    {
        var model = TinyGraph.Model(
            8,
            [GraphEditor.Node("Add", "add", ["x", "bias"], ["y"])],
            [TinyGraph.Floats("x", 3), TinyGraph.Floats("bias", 3)],
            [TinyGraph.Floats("y", 3)],
            TensorData.Floats("bias", [3], [1f, 2f, 3f]));
        model.IrVersion = 3;

        GraphNormalization.Normalize(model);

        Assert.Equal(["x"], model.Graph.Input.Select(input => input.Name));
        Assert.Equal("bias", Assert.Single(model.Graph.Initializer).Name);
        Assert.Equal(4L, model.IrVersion);
        Assert.Equal([1f, 2f, 3f], TinyGraph.Run(model, GraphOptimizationLevel.ORT_DISABLE_ALL, ("x", new[] { 0f, 0f, 0f }, [3])));
    }

    [Fact]
    public void Normalize_ConstantWithAnotherAttribute_LeftAsANode()
    {
        // value_float (opset 12) is not a tensor: the rewrites do not look for it, so normalization leaves it alone.
        var constant = GraphEditor.Node("Constant", "half", [], ["half"]).WithFloat("value_float", 0.5f);
        var model = TinyGraph.Model(
            13,
            [constant, GraphEditor.Node("Mul", "scale", ["x", "half"], ["y"])],
            [TinyGraph.Floats("x", 1)],
            [TinyGraph.Floats("y", 1)]);

        GraphNormalization.Normalize(model);

        Assert.Equal(["Constant", "Mul"], model.Graph.Node.Select(node => node.OpType));
        Assert.Empty(model.Graph.Initializer);
    }
}

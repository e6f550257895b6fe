using Onnx;

namespace Serverless.Inference.Optimization.Onnx;

/// <summary>
/// Puts a graph's constants where rewrites look for them. Exporters differ: PaddlePaddle writes weights as
/// Constant nodes, CNTK (IR 3) lists every initializer again as a graph input. After this every constant tensor
/// is an initializer that is not also an input (IR 4 and later allow that), and the graph means the same.
/// </summary>
internal static class GraphNormalization
{
    private const long FirstIrWithoutInitializerInputs = 4;

    public static void Normalize(ModelProto model)
    {
        var graph = model.Graph;
        foreach (var constant in graph.Node.Where(IsTensorConstant).ToList())
        {
            var tensor = constant.Attribute.Single(attribute => attribute.Name == "value").T.Clone();
            tensor.Name = constant.Output[0];
            graph.Initializer.Add(tensor);
            graph.Node.Remove(constant);
        }

        var initializers = graph.Initializer.Select(tensor => tensor.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var input in graph.Input.Where(input => initializers.Contains(input.Name)).ToList())
        {
            graph.Input.Remove(input);
        }

        model.IrVersion = Math.Max(model.IrVersion, FirstIrWithoutInitializerInputs);
    }

    private static bool IsTensorConstant(NodeProto node) =>
        node.OpType == "Constant" && node.Domain is "" or "ai.onnx" && node.Output.Count == 1 &&
        node.Attribute.Count == 1 && node.Attribute[0].Name == "value";
}

using Onnx;

namespace Serverless.Inference.Optimization.Quantization;

/// <summary>Swaps one node for the nodes that replace it.</summary>
internal static class NodeReplacement
{
    /// <summary>Puts the new nodes where the old one was, so the graph stays in topological order.</summary>
    public static void Replace(GraphProto graph, NodeProto node, IReadOnlyList<NodeProto> replacement)
    {
        var index = graph.Node.IndexOf(node);
        if (index < 0)
        {
            throw new InvalidOperationException($"node '{node.Name}' ({node.OpType}) is not in the graph");
        }

        graph.Node.RemoveAt(index);
        for (var i = 0; i < replacement.Count; i++)
        {
            graph.Node.Insert(index + i, replacement[i]);
        }
    }
}

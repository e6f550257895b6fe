using Onnx;
using Serverless.Inference.Optimization.Onnx;

namespace Serverless.Inference.Optimization.Quantization;

/// <summary>
/// A Conv, MatMul or Gemm whose weight is a constant float tensor: int8-static quantizes its weight, its data input
/// and its output (the group ONNX Runtime fuses into QLinearConv, QLinearMatMul or QGemm).
/// </summary>
/// <param name="Activation">The data input, as the source graph names it.</param>
/// <param name="WeightAxis">The weight's channel axis for per-channel scales, or -1 for one scale.</param>
/// <param name="HasQuantizableBias">A constant 1-D bias added as is, stored as int32 at the input scale times the weight scale.</param>
internal sealed record QuantizableNode(NodeProto Node, string Activation, string Output, string Weight, int WeightAxis, bool HasQuantizableBias)
{
    public static IReadOnlyList<QuantizableNode> Find(GraphEditor editor, bool perChannel) =>
        [.. editor.Graph.Node.Select(node => Of(editor, node, perChannel)).OfType<QuantizableNode>()];

    private static QuantizableNode? Of(GraphEditor editor, NodeProto node, bool perChannel)
    {
        if (node.Domain is not ("" or "ai.onnx") || node.Input.Count < 2 || node.Output.Count != 1
            || editor.Initializer(node.Input[0]) is not null
            || editor.Initializer(node.Input[1]) is not { DataType: TensorData.Float } weight)
        {
            return null;
        }

        var bias = node.Input.Count > 2 && node.Input[2].Length > 0 ? editor.Initializer(node.Input[2]) : null;
        var hasBias = node.Input.Count > 2 && node.Input[2].Length > 0;
        var biasIsConstantVector = bias is { DataType: TensorData.Float, Dims.Count: 1 };
        return node.OpType switch
        {
            "Conv" when weight.Dims.Count >= 3 && (!hasBias || biasIsConstantVector) =>
                new QuantizableNode(node, node.Input[0], node.Output[0], node.Input[1], perChannel ? 0 : -1, hasBias),
            "MatMul" when weight.Dims.Count == 2 =>
                new QuantizableNode(node, node.Input[0], node.Output[0], node.Input[1], -1, false),
            "Gemm" when weight.Dims.Count == 2 && node.Int("transA", 0) == 0 =>
                new QuantizableNode(node, node.Input[0], node.Output[0], node.Input[1], -1,
                    biasIsConstantVector && node.Float("alpha", 1f) == 1f && node.Float("beta", 1f) == 1f),
            _ => null,
        };
    }
}

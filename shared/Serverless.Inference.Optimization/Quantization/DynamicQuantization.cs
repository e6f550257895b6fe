using Serverless.Inference.Optimization.Onnx;

namespace Serverless.Inference.Optimization.Quantization;

/// <summary>
/// int8 dynamic quantization: the constant weights of MatMul and Gemm stored as int8, the activations quantized to
/// uint8 at run time in ONNX Runtime's own pattern (which its optimizer fuses into DynamicQuantizeMatMul), and
/// optionally the tables read by Gather (word embeddings) stored as int8 and dequantized row by row after the lookup.
/// </summary>
internal sealed class DynamicQuantization : IGraphRewrite
{
    /// <summary>DynamicQuantizeLinear first appears in opset 11 (MatMulInteger in 10).</summary>
    private const int MinimumOpset = 11;

    public OptimizationMethod Method => OptimizationMethod.Int8Dynamic;

    public RewriteResult Rewrite(RewriteRequest request, CancellationToken cancellationToken)
    {
        var model = request.Model.Clone();
        GraphNormalization.Normalize(model);
        var editor = new GraphEditor(model);
        var options = request.Options;

        var matMuls = new MatMulQuantizer(editor, options.PerChannel);
        var embeddings = new EmbeddingQuantizer(editor, options.PerChannel);
        var products = matMuls.FindCandidates();
        var lookups = options.QuantizeEmbeddings ? embeddings.FindCandidates() : [];
        if (products.Count == 0 && lookups.Count == 0)
        {
            throw new OptimizationException(
                "int8-dynamic found nothing to quantize: it looks for MatMul and Gemm nodes whose weight (input B) is a constant 2-D float tensor" +
                (options.QuantizeEmbeddings ? ", and Gather nodes reading a constant 2-D float table" : string.Empty) +
                $", and the model has none ({model.Graph.Node.Count} nodes: {OperatorSummary(model)})");
        }

        var opset = editor.OpsetVersion();
        if (opset < MinimumOpset)
        {
            throw new OptimizationException(
                $"int8-dynamic needs ONNX opset {MinimumOpset} or later (DynamicQuantizeLinear, MatMulInteger); the model imports opset {opset}. Convert the model to a newer opset first.");
        }

        foreach (var node in products)
        {
            cancellationToken.ThrowIfCancellationRequested();
            matMuls.Rewrite(node);
        }

        foreach (var node in lookups)
        {
            cancellationToken.ThrowIfCancellationRequested();
            embeddings.Rewrite(node, opset);
        }

        var operators = new[] { ("MatMul", matMuls.MatMuls), ("Gemm", matMuls.Gemms), ("Gather", embeddings.Gathers) }
            .Where(count => count.Item2 > 0)
            .Select(count => count.Item1);
        var settings = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["weights"] = options.PerChannel ? "int8 symmetric per-channel" : "int8 symmetric per-tensor",
            ["activations"] = "uint8 per-tensor, quantized at run time",
            ["operators"] = string.Join(',', operators),
            ["embeddings"] = options.QuantizeEmbeddings ? "int8, dequantized after Gather" : "float",
            ["matmul_nodes"] = matMuls.MatMuls.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["gemm_nodes"] = matMuls.Gemms.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["gather_nodes"] = embeddings.Gathers.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        return new RewriteResult(model, matMuls.MatMuls + matMuls.Gemms + embeddings.Gathers, settings);
    }

    private static string OperatorSummary(global::Onnx.ModelProto model) =>
        string.Join(", ", model.Graph.Node
            .GroupBy(node => node.OpType, StringComparer.Ordinal)
            .OrderByDescending(group => group.Count())
            .Take(8)
            .Select(group => $"{group.Count()} {group.Key}"));
}

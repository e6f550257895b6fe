using Onnx;
using Serverless.Inference.Optimization.Onnx;

namespace Serverless.Inference.Optimization.Quantization;

/// <summary>
/// Stores the constant float tables that Gather reads rows from (word embeddings) as int8, one scale per column, and
/// gathers the int8 rows first so that only the rows a request reads are dequantized:
/// <c>Gather(T_q, ids) → DequantizeLinear(·, T_scale, T_zp, axis=-1)</c>.
/// </summary>
internal sealed class EmbeddingQuantizer(GraphEditor editor, bool perChannel)
{
    /// <summary>DequantizeLinear takes an axis (one scale per column) from opset 13; before that a Cast and a Mul do the same.</summary>
    private const int FirstOpsetWithDequantizeAxis = 13;

    private readonly Dictionary<string, QuantizedTensorNames> _tables = new(StringComparer.Ordinal);

    public int Gathers { get; private set; }

    public IReadOnlyList<NodeProto> FindCandidates() => [.. editor.Graph.Node.Where(IsCandidate)];

    public void Rewrite(NodeProto node, int opset)
    {
        var tableName = node.Input[0];
        var table = Table(tableName);
        var output = node.Output[0];
        var prefix = node.Name.Length > 0 ? node.Name : output;
        var rows = editor.NewName($"{output}_quantized");

        var gather = GraphEditor.Node("Gather", editor.NewName($"{prefix}_quant"), [table.Values, node.Input[1]], [rows]).WithInt("axis", 0);
        List<NodeProto> replacement = [gather];
        if (!perChannel || opset >= FirstOpsetWithDequantizeAxis)
        {
            var dequantize = GraphEditor.Node("DequantizeLinear", editor.NewName($"{prefix}_dequantize"), [rows, table.Scale, table.ZeroPoint], [output]);
            // The gathered rows end in the table's column axis, whatever the rank of the indices.
            replacement.Add(perChannel ? dequantize.WithInt("axis", -1) : dequantize);
        }
        else
        {
            var cast = editor.NewName($"{output}_cast");
            replacement.Add(GraphEditor.Node("Cast", editor.NewName($"{prefix}_cast"), [rows], [cast]).WithInt("to", TensorData.Float));
            replacement.Add(GraphEditor.Node("Mul", editor.NewName($"{prefix}_scale_mul"), [cast, table.Scale], [output]));
        }

        NodeReplacement.Replace(editor.Graph, node, replacement);
        editor.RemoveInitializerIfUnused(tableName);
        Gathers++;
    }

    private bool IsCandidate(NodeProto node) =>
        node.OpType == "Gather" && node.Domain is "" or "ai.onnx" && node.Input.Count == 2 && node.Output.Count == 1 &&
        node.Int("axis", 0) is 0 or -2 &&
        editor.Initializer(node.Input[0]) is { DataType: TensorData.Float } table &&
        table.Dims.Count == 2 &&
        !editor.Graph.Input.Any(input => input.Name == table.Name);

    private QuantizedTensorNames Table(string name)
    {
        if (_tables.TryGetValue(name, out var known))
        {
            return known;
        }

        var source = editor.Initializer(name) ?? throw new InvalidOperationException($"initializer '{name}' disappeared");
        long[] dims = [source.Dims[0], source.Dims[1]];
        // [rows, D]: a gathered row is a vector of D columns, each with its own range.
        var quantized = WeightQuantizer.Int8Symmetric(TensorData.ReadFloats(source), dims, perChannel ? 1 : -1);
        long[] channelDims = perChannel ? [dims[1]] : [];
        var table = new QuantizedTensorNames(
            editor.NewName($"{name}_quantized"), editor.NewName($"{name}_scale"), editor.NewName($"{name}_zero_point"));
        editor.AddInitializer(TensorData.Int8s(table.Values, dims, quantized.Values));
        editor.AddInitializer(TensorData.Floats(table.Scale, channelDims, quantized.Scales));
        editor.AddInitializer(TensorData.Int8s(table.ZeroPoint, channelDims, new sbyte[quantized.Scales.Length]));
        _tables[name] = table;
        return table;
    }
}

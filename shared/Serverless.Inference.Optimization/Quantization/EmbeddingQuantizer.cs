using Onnx;
using Serverless.Inference.Optimization.Onnx;

namespace Serverless.Inference.Optimization.Quantization;

/// <summary>
/// Stores the constant float tables that Gather reads rows from (word embeddings) as int8 and gathers the int8 rows
/// first, so that only the rows a request reads are dequantized: <c>Gather(T_q, ids) → Cast → Mul(·, Gather(T_scale, ids))</c>.
/// Per channel means one scale per row here, not per column: a row is what a lookup reads, and a column's range is set
/// by its largest value over the whole vocabulary (a few outlier rows), which leaves ordinary rows few levels.
/// </summary>
internal sealed class EmbeddingQuantizer(GraphEditor editor, bool perChannel)
{
    private readonly Dictionary<string, (string Values, string Scale)> _tables = new(StringComparer.Ordinal);

    public int Gathers { get; private set; }

    public IReadOnlyList<NodeProto> FindCandidates() => [.. editor.Graph.Node.Where(IsCandidate)];

    public void Rewrite(NodeProto node)
    {
        var tableName = node.Input[0];
        var ids = node.Input[1];
        var table = Table(tableName);
        var output = node.Output[0];
        var prefix = node.Name.Length > 0 ? node.Name : output;
        var rows = editor.NewName($"{output}_quantized");
        var cast = editor.NewName($"{output}_cast");

        List<NodeProto> replacement =
        [
            GraphEditor.Node("Gather", editor.NewName($"{prefix}_quant"), [table.Values, ids], [rows]).WithInt("axis", 0),
            GraphEditor.Node("Cast", editor.NewName($"{prefix}_cast"), [rows], [cast]).WithInt("to", TensorData.Float),
        ];
        var scale = table.Scale;
        if (perChannel)
        {
            // The scales are [rows, 1]: gathered by the same ids they broadcast over each gathered row.
            scale = editor.NewName($"{output}_scale");
            replacement.Add(GraphEditor.Node("Gather", editor.NewName($"{prefix}_scale_gather"), [table.Scale, ids], [scale]).WithInt("axis", 0));
        }

        replacement.Add(GraphEditor.Node("Mul", editor.NewName($"{prefix}_scale_mul"), [cast, scale], [output]));
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

    private (string Values, string Scale) Table(string name)
    {
        if (_tables.TryGetValue(name, out var known))
        {
            return known;
        }

        var source = editor.Initializer(name) ?? throw new InvalidOperationException($"initializer '{name}' disappeared");
        long[] dims = [source.Dims[0], source.Dims[1]];
        var quantized = WeightQuantizer.Int8Symmetric(TensorData.ReadFloats(source), dims, perChannel ? 0 : -1);
        long[] scaleDims = perChannel ? [dims[0], 1] : [];
        // Symmetric, so the zero points are all 0 and need no tensor of their own.
        var table = (Values: editor.NewName($"{name}_quantized"), Scale: editor.NewName($"{name}_scale"));
        editor.AddInitializer(TensorData.Int8s(table.Values, dims, quantized.Values));
        editor.AddInitializer(TensorData.Floats(table.Scale, scaleDims, quantized.Scales));
        _tables[name] = table;
        return table;
    }
}

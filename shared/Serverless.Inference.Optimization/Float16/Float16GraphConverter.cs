using Onnx;
using Serverless.Inference.Optimization.Onnx;

namespace Serverless.Inference.Optimization.Float16;

/// <summary>
/// Converts a normalized graph to FP16 in one pass, in the manner of onnxconverter-common's
/// convert_float_to_float16 with keep_io_types and a block list, but deciding per node from the CPU kernels:
/// <list type="number">
/// <item>float initializers are stored as FP16 (clamped to its range), except those read by Cast nodes (shape arithmetic,
/// where FP16 would round integers above 2048) and those a subgraph or a graph output reads by name;</item>
/// <item>each node, in graph order, runs in FP16 when ONNX Runtime's CPU provider has an FP16 kernel for it, every
/// tensor it touches has a known type and its operator is not blocked; an operator that only moves data does so only
/// when some of its float data already is FP16, so that it never adds a cast for nothing; every other node stays FP32;</item>
/// <item>a Cast to float (or a ConstantOfShape of float) whose every reader runs in FP16 produces FP16 directly;</item>
/// <item>a Cast is placed on each edge whose two ends differ (one per tensor and direction, shared by its readers), and
/// an FP16 graph output is renamed and cast back, so the graph's inputs and outputs stay FP32;</item>
/// <item>value_info entries of tensors that became FP16 say so.</item>
/// </list>
/// </summary>
internal static class Float16GraphConverter
{
    private enum Precision
    {
        /// <summary>Reads and writes float tensors as FP32 (or has none).</summary>
        Float,

        /// <summary>Reads and writes float tensors as FP16.</summary>
        Half,

        /// <summary>Reads any element type as it comes (Cast, Shape): never needs a cast in front.</summary>
        Any,
    }

    public static Float16Pass Convert(ModelProto source, IReadOnlySet<string> blockedOps, CancellationToken cancellationToken)
    {
        var model = source.Clone();
        var graph = model.Graph;
        var types = TensorElementTypes.Infer(graph);
        var pinned = PinnedNames(graph);
        var halves = new HashSet<string>(StringComparer.Ordinal);

        var (converted, clamped) = ConvertInitializers(graph, pinned, halves);

        var editor = new GraphEditor(model);
        var opset = editor.OpsetVersion();
        var nodes = graph.Node.ToList();
        var precisions = new Precision[nodes.Count];
        for (var i = 0; i < nodes.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            precisions[i] = Decide(nodes[i], opset, types, pinned, halves, blockedOps);
            if (precisions[i] == Precision.Half)
            {
                for (var output = 0; output < nodes[i].Output.Count; output++)
                {
                    if (types.IsFloat(nodes[i].Output[output]) && Float16Kernels.OutputFollowsPrecision(nodes[i], output))
                    {
                        halves.Add(nodes[i].Output[output]);
                    }
                }
            }
        }

        var rewritten = new bool[nodes.Count];
        var readers = Readers(nodes);
        clamped += FoldTypedConstants(graph, nodes, precisions, readers, pinned, halves, rewritten);
        var outputCasts = RenameHalfOutputs(graph, nodes, readers, halves, editor, rewritten);

        var casts = new Dictionary<(string Tensor, bool ToHalf), string>();
        var rebuilt = new List<NodeProto>(nodes.Count);
        for (var i = 0; i < nodes.Count; i++)
        {
            var node = nodes[i];
            if (precisions[i] != Precision.Any)
            {
                for (var input = 0; input < node.Input.Count; input++)
                {
                    var name = node.Input[input];
                    var isHalf = halves.Contains(name);
                    if (name.Length == 0 || !(isHalf || types.IsFloat(name)) || isHalf == (precisions[i] == Precision.Half))
                    {
                        continue;
                    }

                    node.Input[input] = CastOf(name, !isHalf, casts, rebuilt, editor);
                    rewritten[i] = true;
                }
            }

            rebuilt.Add(node);
            if (outputCasts.TryGetValue(i, out var after))
            {
                rebuilt.AddRange(after);
            }
        }

        graph.Node.Clear();
        graph.Node.AddRange(rebuilt);
        MarkValueInfo(graph, halves);

        var float16Ops = nodes.Where((node, i) => precisions[i] == Precision.Half || (rewritten[i] && precisions[i] == Precision.Any))
            .Select(node => node.OpType).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var kept = nodes.Where((node, i) => precisions[i] == Precision.Float && node.Input.Concat(node.Output).Any(types.IsFloat))
            .Select(node => node.OpType).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var rewrittenNodes = Enumerable.Range(0, nodes.Count).Count(i => rewritten[i] || precisions[i] == Precision.Half);
        return new Float16Pass(model, float16Ops, kept, casts.Count + outputCasts.Values.Sum(list => list.Count), converted, clamped, rewrittenNodes);
    }

    /// <summary>Stores float initializers as FP16, except those read by name from a subgraph, by a Cast, or as a graph output.</summary>
    private static (int Converted, int Clamped) ConvertInitializers(GraphProto graph, HashSet<string> pinned, HashSet<string> halves)
    {
        var castInputs = graph.Node.Where(node => node.OpType == "Cast" && Float16Kernels.IsDefaultDomain(node))
            .SelectMany(node => node.Input).ToHashSet(StringComparer.Ordinal);
        int converted = 0, clamped = 0;
        for (var i = 0; i < graph.Initializer.Count; i++)
        {
            var tensor = graph.Initializer[i];
            if (tensor.DataType != TensorData.Float || pinned.Contains(tensor.Name) || castInputs.Contains(tensor.Name))
            {
                continue;
            }

            graph.Initializer[i] = HalfWeights.Convert(tensor, out var outOfRange);
            clamped += outOfRange;
            converted++;
            halves.Add(tensor.Name);
        }

        return (converted, clamped);
    }

    private static Precision Decide(NodeProto node, int opset, TensorElementTypes types, HashSet<string> pinned, HashSet<string> halves, IReadOnlySet<string> blockedOps)
    {
        if (Float16Kernels.ReadsAnyType(node))
        {
            return Precision.Any;
        }

        if (!Float16Kernels.HasFloat16Kernel(node, opset) || blockedOps.Contains(node.OpType) || !types.Knows(node) ||
            node.Output.Any(pinned.Contains) || node.Attribute.Any(HasGraph))
        {
            return Precision.Float;
        }

        var floatInputs = node.Input.Where(types.IsFloat).ToList();
        if (floatInputs.Count == 0 && !node.Output.Any(types.IsFloat))
        {
            return Precision.Float;
        }

        return !Float16Kernels.MovesData(node) || floatInputs.Any(halves.Contains) ? Precision.Half : Precision.Float;
    }

    /// <summary>
    /// A Cast to float, or a ConstantOfShape filled with a float, whose readers all run in FP16 makes FP16 itself
    /// rather than FP32 that is cast straight after. Returns the values clamped in ConstantOfShape fills.
    /// </summary>
    private static int FoldTypedConstants(
        GraphProto graph, List<NodeProto> nodes, Precision[] precisions, Dictionary<string, List<int>> readers, HashSet<string> pinned, HashSet<string> halves, bool[] rewritten)
    {
        var outputs = graph.Output.Select(output => output.Name).ToHashSet(StringComparer.Ordinal);
        var clamped = 0;
        for (var i = 0; i < nodes.Count; i++)
        {
            var node = nodes[i];
            if (!Float16Kernels.IsDefaultDomain(node) || node.Output.Count != 1 || outputs.Contains(node.Output[0]) || pinned.Contains(node.Output[0]) ||
                !readers.TryGetValue(node.Output[0], out var readBy) || !readBy.All(reader => precisions[reader] == Precision.Half))
            {
                continue;
            }

            if (node.OpType == "Cast" && node.Attribute.FirstOrDefault(attribute => attribute.Name == "to") is { I: TensorData.Float } to)
            {
                to.I = TensorData.Float16;
            }
            else if (node.OpType == "ConstantOfShape" && FloatFill(node) is { } found)
            {
                var (fill, index) = found;
                var outOfRange = 0;
                var value = fill is null ? TensorData.Halves("value", [1], [Half.Zero]) : HalfWeights.Convert(fill, out outOfRange);
                clamped += outOfRange;
                if (index < 0)
                {
                    node.Attribute.Add(new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = value });
                }
                else
                {
                    node.Attribute[index].T = value;
                }
            }
            else
            {
                continue;
            }

            halves.Add(node.Output[0]);
            precisions[i] = Precision.Any;
            rewritten[i] = true;
        }

        return clamped;
    }

    /// <summary>The float fill of a ConstantOfShape (null when it has no value attribute: zeros of float), and the attribute's index.</summary>
    private static (TensorProto? Fill, int Index)? FloatFill(NodeProto node)
    {
        var index = node.Attribute.ToList().FindIndex(attribute => attribute.Name == "value");
        if (index < 0)
        {
            return (null, -1);
        }

        return node.Attribute[index].T is { DataType: TensorData.Float } fill ? (fill, index) : null;
    }

    /// <summary>
    /// Graph outputs computed in FP16 get an FP16 name inside the graph and a Cast back to float under their own
    /// name, placed right after the node that makes them: callers see the same outputs, still FP32.
    /// </summary>
    private static Dictionary<int, List<NodeProto>> RenameHalfOutputs(
        GraphProto graph, List<NodeProto> nodes, Dictionary<string, List<int>> readers, HashSet<string> halves, GraphEditor editor, bool[] rewritten)
    {
        var after = new Dictionary<int, List<NodeProto>>();
        foreach (var output in graph.Output.Select(output => output.Name).Distinct(StringComparer.Ordinal).Where(halves.Contains).ToList())
        {
            var producer = nodes.FindIndex(node => node.Output.Contains(output));
            if (producer < 0)
            {
                continue;
            }

            var half = editor.NewName(output + "_fp16");
            var outputs = nodes[producer].Output;
            outputs[outputs.IndexOf(output)] = half;
            foreach (var reader in readers.GetValueOrDefault(output) ?? [])
            {
                var inputs = nodes[reader].Input;
                for (var input = 0; input < inputs.Count; input++)
                {
                    if (inputs[input] == output)
                    {
                        inputs[input] = half;
                    }
                }
            }

            halves.Remove(output);
            halves.Add(half);
            rewritten[producer] = true;
            var cast = GraphEditor.Node("Cast", editor.NewName(output + "_to_fp32"), [half], [output]).WithInt("to", TensorData.Float);
            (after.TryGetValue(producer, out var list) ? list : after[producer] = []).Add(cast);
        }

        return after;
    }

    /// <summary>The tensor cast to the other precision, one Cast per tensor and direction, added before its first reader.</summary>
    private static string CastOf(string tensor, bool toHalf, Dictionary<(string, bool), string> casts, List<NodeProto> rebuilt, GraphEditor editor)
    {
        if (casts.TryGetValue((tensor, toHalf), out var existing))
        {
            return existing;
        }

        var suffix = toHalf ? "fp16" : "fp32";
        var output = editor.NewName($"{tensor}_{suffix}");
        rebuilt.Add(GraphEditor.Node("Cast", editor.NewName($"{tensor}_to_{suffix}"), [tensor], [output]).WithInt("to", toHalf ? TensorData.Float16 : TensorData.Float));
        casts[(tensor, toHalf)] = output;
        return output;
    }

    private static void MarkValueInfo(GraphProto graph, HashSet<string> halves)
    {
        foreach (var value in graph.ValueInfo)
        {
            if (halves.Contains(value.Name) && value.Type?.TensorType is { } tensor)
            {
                tensor.ElemType = TensorData.Float16;
            }
        }
    }

    /// <summary>For each tensor, the indexes of the nodes that read it.</summary>
    private static Dictionary<string, List<int>> Readers(List<NodeProto> nodes)
    {
        var readers = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (var i = 0; i < nodes.Count; i++)
        {
            foreach (var input in nodes[i].Input.Where(input => input.Length > 0).Distinct(StringComparer.Ordinal))
            {
                (readers.TryGetValue(input, out var list) ? list : readers[input] = []).Add(i);
            }
        }

        return readers;
    }

    /// <summary>
    /// Tensors whose name and type must not change: those a subgraph (If, Loop, Scan) reads from the outer scope,
    /// which this pass does not rewrite, and initializers that are graph outputs themselves.
    /// </summary>
    private static HashSet<string> PinnedNames(GraphProto graph)
    {
        var pinned = new HashSet<string>(StringComparer.Ordinal);
        foreach (var attribute in graph.Node.SelectMany(node => node.Attribute))
        {
            foreach (var subgraph in Subgraphs(attribute))
            {
                AddReadNames(subgraph, pinned);
            }
        }

        var initializers = graph.Initializer.Select(tensor => tensor.Name).ToHashSet(StringComparer.Ordinal);
        pinned.UnionWith(graph.Output.Select(output => output.Name).Where(initializers.Contains));
        return pinned;
    }

    private static void AddReadNames(GraphProto graph, HashSet<string> names)
    {
        foreach (var node in graph.Node)
        {
            names.UnionWith(node.Input);
            foreach (var subgraph in node.Attribute.SelectMany(Subgraphs))
            {
                AddReadNames(subgraph, names);
            }
        }

        names.UnionWith(graph.Output.Select(output => output.Name));
    }

    private static IEnumerable<GraphProto> Subgraphs(AttributeProto attribute) =>
        attribute.G is { } graph ? attribute.Graphs.Prepend(graph) : attribute.Graphs;

    private static bool HasGraph(AttributeProto attribute) => attribute.G is not null || attribute.Graphs.Count > 0;
}

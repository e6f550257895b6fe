using Onnx;
using Serverless.Inference.Optimization.Onnx;

namespace Serverless.Inference.Optimization.Float16;

/// <summary>
/// The element type of every tensor of a graph that can be known without running it: graph inputs, initializers
/// and value_info say it outright, and each operator's rule derives its outputs from its inputs and attributes. An
/// operator without a rule (another domain, a random generator) leaves its outputs unknown, and a rewrite treats
/// its node as one it cannot type.
/// </summary>
internal sealed class TensorElementTypes
{
    private const int Bool = (int)TensorProto.Types.DataType.Bool;
    private const int StringType = (int)TensorProto.Types.DataType.String;

    /// <summary>Operators whose every output has the element type of their first input.</summary>
    private static readonly HashSet<string> SameAsFirstInput = new(StringComparer.Ordinal)
    {
        // Data movement.
        "Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Slice", "Split", "Concat", "Expand",
        "Tile", "Pad", "Gather", "GatherElements", "GatherND", "Compress", "ReverseSequence", "Scatter",
        "ScatterElements", "ScatterND", "DepthToSpace", "SpaceToDepth", "Resize", "Upsample", "Trilu",
        // Element-wise and reductions.
        "Add", "Sub", "Mul", "Div", "Pow", "Mod", "Max", "Min", "Mean", "Sum", "Abs", "Neg", "Sign", "Reciprocal",
        "Sqrt", "Exp", "Log", "Erf", "Floor", "Ceil", "Round", "Clip", "Relu", "LeakyRelu", "PRelu", "Elu", "Selu",
        "Celu", "Gelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Softplus", "Softsign", "Mish", "Shrink",
        "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh",
        "Softmax", "LogSoftmax", "Hardmax", "CumSum", "Einsum",
        "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
        "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp",
        // Linear algebra, convolution, pooling, normalization.
        "MatMul", "Gemm", "Conv", "ConvTranspose", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "LpPool",
        "GlobalLpPool", "BatchNormalization", "InstanceNormalization", "LpNormalization", "LRN",
        "MeanVarianceNormalization", "RMSNormalization",
    };

    /// <summary>Operators whose every output is bool.</summary>
    private static readonly HashSet<string> BoolOutputs = new(StringComparer.Ordinal)
    {
        "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Not", "And", "Or", "Xor", "IsNaN", "IsInf",
    };

    /// <summary>Operators whose every output is int64.</summary>
    private static readonly HashSet<string> Int64Outputs = new(StringComparer.Ordinal)
    {
        "Shape", "Size", "NonZero", "ArgMax", "ArgMin",
    };

    private readonly Dictionary<string, int> _types = new(StringComparer.Ordinal);

    private TensorElementTypes()
    {
    }

    /// <summary>The element type of a tensor (a TensorProto.DataType value), or null when it cannot be known.</summary>
    public int? Of(string name) => _types.TryGetValue(name, out var type) ? type : null;

    public bool IsFloat(string name) => Of(name) == TensorData.Float;

    /// <summary>Types every tensor of the graph, its nodes visited in the (topological) order ONNX requires.</summary>
    public static TensorElementTypes Infer(GraphProto graph)
    {
        var types = new TensorElementTypes();
        foreach (var value in graph.Input.Concat(graph.ValueInfo).Concat(graph.Output))
        {
            if (value.Type?.TensorType is { ElemType: > 0 } tensor)
            {
                types._types[value.Name] = tensor.ElemType;
            }
        }

        foreach (var initializer in graph.Initializer)
        {
            types._types[initializer.Name] = initializer.DataType;
        }

        foreach (var node in graph.Node)
        {
            for (var i = 0; i < node.Output.Count; i++)
            {
                if (node.Output[i].Length > 0 && !types._types.ContainsKey(node.Output[i]) && types.OutputType(node, i) is { } type)
                {
                    types._types[node.Output[i]] = type;
                }
            }
        }

        return types;
    }

    /// <summary>Whether every input and output of a node has a known element type.</summary>
    public bool Knows(NodeProto node) =>
        node.Input.Concat(node.Output).All(name => name.Length == 0 || _types.ContainsKey(name));

    private int? OutputType(NodeProto node, int output)
    {
        if (node.Domain is not ("" or "ai.onnx"))
        {
            return null;
        }

        var op = node.OpType;
        if (SameAsFirstInput.Contains(op))
        {
            return InputType(node, 0);
        }

        if (BoolOutputs.Contains(op))
        {
            return Bool;
        }

        if (Int64Outputs.Contains(op))
        {
            return TensorData.Int64;
        }

        return op switch
        {
            "Cast" => Attribute(node, "to")?.I is { } to ? (int)to : null,
            "CastLike" => InputType(node, 1),
            "Where" => InputType(node, 1),
            "Range" => InputType(node, 0),
            "Constant" => ConstantType(node),
            "ConstantOfShape" => Attribute(node, "value")?.T?.DataType ?? TensorData.Float,
            "TopK" or "MaxPool" => output == 0 ? InputType(node, 0) : TensorData.Int64,
            "Dropout" => output == 0 ? InputType(node, 0) : Bool,
            "LayerNormalization" => output == 0 ? InputType(node, 0) : TensorData.Float,
            "DequantizeLinear" => InputType(node, 1),
            "QuantizeLinear" => node.Input.Count > 2 && node.Input[2].Length > 0 ? InputType(node, 2) : TensorData.UInt8,
            "DynamicQuantizeLinear" => output == 1 ? TensorData.Float : TensorData.UInt8,
            "MatMulInteger" or "ConvInteger" => TensorData.Int32,
            _ => null,
        };
    }

    private int? InputType(NodeProto node, int input) =>
        input < node.Input.Count && node.Input[input].Length > 0 ? Of(node.Input[input]) : null;

    private static AttributeProto? Attribute(NodeProto node, string name) =>
        node.Attribute.FirstOrDefault(attribute => attribute.Name == name);

    private static int? ConstantType(NodeProto node) => node.Attribute.FirstOrDefault()?.Name switch
    {
        "value" => node.Attribute[0].T?.DataType,
        "value_float" or "value_floats" => TensorData.Float,
        "value_int" or "value_ints" => TensorData.Int64,
        "value_string" or "value_strings" => StringType,
        _ => null,
    };
}

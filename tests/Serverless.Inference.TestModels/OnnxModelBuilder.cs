using System.Runtime.InteropServices;

namespace Serverless.Inference.TestModels;

/// <summary>
/// Builds a single-graph ONNX model (IR version 8, default-domain opset 17 unless told otherwise)
/// and serializes it to the protobuf bytes that ONNX Runtime loads.
/// </summary>
public sealed class OnnxModelBuilder
{
    public const long IrVersion = 8;
    public const long DefaultOpsetVersion = 17;

    private static readonly Dictionary<Type, OnnxElementType> ElementTypes = new()
    {
        [typeof(float)] = OnnxElementType.Float,
        [typeof(byte)] = OnnxElementType.UInt8,
        [typeof(sbyte)] = OnnxElementType.Int8,
        [typeof(ushort)] = OnnxElementType.UInt16,
        [typeof(short)] = OnnxElementType.Int16,
        [typeof(int)] = OnnxElementType.Int32,
        [typeof(long)] = OnnxElementType.Int64,
        [typeof(bool)] = OnnxElementType.Bool,
        [typeof(Half)] = OnnxElementType.Float16,
        [typeof(double)] = OnnxElementType.Double,
        [typeof(uint)] = OnnxElementType.UInt32,
        [typeof(ulong)] = OnnxElementType.UInt64,
    };

    private readonly string graphName;
    private readonly long opsetVersion;
    private readonly List<ValueInfo> inputs = [];
    private readonly List<ValueInfo> outputs = [];
    private readonly List<NodeInfo> nodes = [];
    private readonly List<TensorInfo> initializers = [];

    public OnnxModelBuilder(string graphName, long opsetVersion = DefaultOpsetVersion)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(graphName);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(opsetVersion);
        this.graphName = graphName;
        this.opsetVersion = opsetVersion;
    }

    /// <summary>Declares a graph input; an empty <paramref name="shape"/> declares a scalar.</summary>
    public OnnxModelBuilder Input(string name, OnnxElementType type, params ReadOnlySpan<OnnxDim> shape)
    {
        inputs.Add(ValueInfo.Create(name, type, shape));
        return this;
    }

    /// <summary>Declares a graph output; an empty <paramref name="shape"/> declares a scalar.</summary>
    public OnnxModelBuilder Output(string name, OnnxElementType type, params ReadOnlySpan<OnnxDim> shape)
    {
        outputs.Add(ValueInfo.Create(name, type, shape));
        return this;
    }

    /// <summary>Appends a default-domain node; nodes must be added in topological order.</summary>
    public OnnxModelBuilder Node(
        string opType,
        IReadOnlyList<string> inputs,
        IReadOnlyList<string> outputs,
        params ReadOnlySpan<OnnxAttribute> attributes)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(opType);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        nodes.Add(new NodeInfo($"{opType}_{nodes.Count}", opType, [.. inputs], [.. outputs], attributes.ToArray()));
        return this;
    }

    /// <summary>
    /// Adds a constant tensor, stored as little-endian <c>raw_data</c>; its ONNX element type follows
    /// from <typeparamref name="T"/> (<see cref="Half"/> for FLOAT16, <see cref="bool"/> for BOOL).
    /// </summary>
    public OnnxModelBuilder Initializer<T>(string name, ReadOnlySpan<T> values, params ReadOnlySpan<long> dims)
        where T : unmanaged
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (!ElementTypes.TryGetValue(typeof(T), out var type))
        {
            throw new NotSupportedException($"{typeof(T)} has no ONNX tensor element type.");
        }

        long count = 1;
        foreach (var dim in dims)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(dim, nameof(dims));
            count *= dim;
        }

        if (count != values.Length)
        {
            throw new ArgumentException($"Shape [{string.Join(", ", dims.ToArray())}] needs {count} values, got {values.Length}.", nameof(values));
        }

        // raw_data is little-endian by definition; reinterpreting memory is only right on such hosts.
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("Initializers can only be written on little-endian hosts.");
        }

        initializers.Add(new TensorInfo(name, type, dims.ToArray(), MemoryMarshal.AsBytes(values).ToArray()));
        return this;
    }

    public byte[] ToBytes()
    {
        var model = new ProtobufWriter();
        model.WriteInt64(ModelField.IrVersion, IrVersion);
        model.WriteString(ModelField.ProducerName, "Serverless.Inference.TestModels");
        model.WriteMessage(ModelField.Graph, WriteGraph);
        model.WriteMessage(ModelField.OpsetImport, opset =>
        {
            opset.WriteString(OperatorSetIdField.Domain, string.Empty);
            opset.WriteInt64(OperatorSetIdField.Version, opsetVersion);
        });
        return model.ToArray();
    }

    private void WriteGraph(ProtobufWriter graph)
    {
        foreach (var node in nodes)
        {
            graph.WriteMessage(GraphField.Node, node.WriteTo);
        }

        graph.WriteString(GraphField.Name, graphName);
        foreach (var initializer in initializers)
        {
            graph.WriteMessage(GraphField.Initializer, initializer.WriteTo);
        }

        foreach (var input in inputs)
        {
            graph.WriteMessage(GraphField.Input, input.WriteTo);
        }

        foreach (var output in outputs)
        {
            graph.WriteMessage(GraphField.Output, output.WriteTo);
        }
    }

    private sealed record ValueInfo(string Name, OnnxElementType Type, OnnxDim[] Shape)
    {
        public static ValueInfo Create(string name, OnnxElementType type, ReadOnlySpan<OnnxDim> shape)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(name);
            if (!Enum.IsDefined(type))
            {
                throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown ONNX element type.");
            }

            return new ValueInfo(name, type, shape.ToArray());
        }

        public void WriteTo(ProtobufWriter valueInfo)
        {
            valueInfo.WriteString(ValueInfoField.Name, Name);
            valueInfo.WriteMessage(ValueInfoField.Type, typeProto =>
                typeProto.WriteMessage(TypeField.TensorType, tensor =>
                {
                    tensor.WriteInt64(TensorTypeField.ElemType, (long)Type);
                    tensor.WriteMessage(TensorTypeField.Shape, WriteShape);
                }));
        }

        private void WriteShape(ProtobufWriter shape)
        {
            foreach (var dim in Shape)
            {
                shape.WriteMessage(ShapeField.Dim, dimension =>
                {
                    if (dim.Value is { } value)
                    {
                        dimension.WriteInt64(DimensionField.DimValue, value);
                    }
                    else if (dim.Symbol is { } symbol)
                    {
                        dimension.WriteString(DimensionField.DimParam, symbol);
                    }
                });
            }
        }
    }

    private sealed record NodeInfo(string Name, string OpType, string[] Inputs, string[] Outputs, OnnxAttribute[] Attributes)
    {
        public void WriteTo(ProtobufWriter node)
        {
            foreach (var input in Inputs)
            {
                node.WriteString(NodeField.Input, input);
            }

            foreach (var output in Outputs)
            {
                node.WriteString(NodeField.Output, output);
            }

            node.WriteString(NodeField.Name, Name);
            node.WriteString(NodeField.OpType, OpType);
            foreach (var attribute in Attributes)
            {
                node.WriteMessage(NodeField.Attribute, attribute.WriteTo);
            }
        }
    }

    private sealed record TensorInfo(string Name, OnnxElementType Type, long[] Dims, byte[] RawData)
    {
        public void WriteTo(ProtobufWriter tensor)
        {
            // onnx.proto is proto2, where repeated scalars are unpacked unless marked otherwise.
            foreach (var dim in Dims)
            {
                tensor.WriteInt64(TensorField.Dims, dim);
            }

            tensor.WriteInt64(TensorField.DataType, (long)Type);
            tensor.WriteString(TensorField.Name, Name);
            tensor.WriteBytes(TensorField.RawData, RawData);
        }
    }

    // Field numbers from onnx/onnx.proto.
    private static class ModelField
    {
        public const int IrVersion = 1;
        public const int ProducerName = 2;
        public const int Graph = 7;
        public const int OpsetImport = 8;
    }

    private static class OperatorSetIdField
    {
        public const int Domain = 1;
        public const int Version = 2;
    }

    private static class GraphField
    {
        public const int Node = 1;
        public const int Name = 2;
        public const int Initializer = 5;
        public const int Input = 11;
        public const int Output = 12;
    }

    private static class NodeField
    {
        public const int Input = 1;
        public const int Output = 2;
        public const int Name = 3;
        public const int OpType = 4;
        public const int Attribute = 5;
    }

    private static class ValueInfoField
    {
        public const int Name = 1;
        public const int Type = 2;
    }

    private static class TypeField
    {
        public const int TensorType = 1;
    }

    private static class TensorTypeField
    {
        public const int ElemType = 1;
        public const int Shape = 2;
    }

    private static class ShapeField
    {
        public const int Dim = 1;
    }

    private static class DimensionField
    {
        public const int DimValue = 1;
        public const int DimParam = 2;
    }

    private static class TensorField
    {
        public const int Dims = 1;
        public const int DataType = 2;
        public const int Name = 8;
        public const int RawData = 9;
    }
}

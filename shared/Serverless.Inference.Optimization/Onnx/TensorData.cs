using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace Serverless.Inference.Optimization.Onnx;

/// <summary>Reads float tensors whichever way the exporter stored them, and builds the tensors rewrites add.</summary>
internal static class TensorData
{
    public const int Float = (int)TensorProto.Types.DataType.Float;
    public const int UInt8 = (int)TensorProto.Types.DataType.Uint8;
    public const int Int8 = (int)TensorProto.Types.DataType.Int8;
    public const int Int32 = (int)TensorProto.Types.DataType.Int32;
    public const int Int64 = (int)TensorProto.Types.DataType.Int64;
    public const int Float16 = (int)TensorProto.Types.DataType.Float16;

    public static long ElementCount(TensorProto tensor) => tensor.Dims.Aggregate(1L, (count, dim) => count * dim);

    /// <summary>The values of a float tensor (raw little-endian bytes or the float_data field).</summary>
    public static float[] ReadFloats(TensorProto tensor)
    {
        if (tensor.DataType != Float)
        {
            throw new OptimizationException($"tensor '{tensor.Name}' holds data type {tensor.DataType}, not float");
        }

        if (tensor.DataLocation == TensorProto.Types.DataLocation.External || tensor.ExternalData.Count > 0)
        {
            throw new OptimizationException($"tensor '{tensor.Name}' keeps its data in an external file, which the optimizer does not read; save the model as one file");
        }

        var count = ElementCount(tensor);
        if (!tensor.RawData.IsEmpty)
        {
            if (tensor.RawData.Length != count * sizeof(float))
            {
                throw new OptimizationException($"tensor '{tensor.Name}' has {tensor.RawData.Length} bytes of data for {count} floats");
            }

            var values = new float[count];
            var raw = tensor.RawData.Span;
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = BinaryPrimitives.ReadSingleLittleEndian(raw.Slice(i * sizeof(float), sizeof(float)));
            }

            return values;
        }

        if (tensor.FloatData.Count != count)
        {
            throw new OptimizationException($"tensor '{tensor.Name}' has {tensor.FloatData.Count} floats for shape [{string.Join(',', tensor.Dims)}]");
        }

        return [.. tensor.FloatData];
    }

    public static TensorProto Floats(string name, IReadOnlyList<long> dims, ReadOnlySpan<float> values) =>
        Raw(name, Float, dims, MemoryMarshal.AsBytes(values), values.Length);

    public static TensorProto Int8s(string name, IReadOnlyList<long> dims, ReadOnlySpan<sbyte> values) =>
        Raw(name, Int8, dims, MemoryMarshal.AsBytes(values), values.Length);

    public static TensorProto UInt8s(string name, IReadOnlyList<long> dims, ReadOnlySpan<byte> values) =>
        Raw(name, UInt8, dims, values, values.Length);

    public static TensorProto Int32s(string name, IReadOnlyList<long> dims, ReadOnlySpan<int> values) =>
        Raw(name, Int32, dims, MemoryMarshal.AsBytes(values), values.Length);

    public static TensorProto Int64s(string name, IReadOnlyList<long> dims, ReadOnlySpan<long> values) =>
        Raw(name, Int64, dims, MemoryMarshal.AsBytes(values), values.Length);

    public static TensorProto Halves(string name, IReadOnlyList<long> dims, ReadOnlySpan<Half> values) =>
        Raw(name, Float16, dims, MemoryMarshal.AsBytes(values), values.Length);

    /// <summary>A rank-0 float (a per-tensor scale).</summary>
    public static TensorProto Scalar(string name, float value) => Floats(name, [], [value]);

    private static TensorProto Raw(string name, int dataType, IReadOnlyList<long> dims, ReadOnlySpan<byte> bytes, int count)
    {
        var expected = dims.Aggregate(1L, (product, dim) => product * dim);
        if (expected != count)
        {
            throw new ArgumentException($"{count} values do not fill shape [{string.Join(',', dims)}]", nameof(dims));
        }

        // ONNX raw_data is little-endian; so is every machine .NET runs this on (checked, not assumed).
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("ONNX raw tensor data is little-endian");
        }

        var tensor = new TensorProto { Name = name, DataType = dataType, RawData = ByteString.CopyFrom(bytes) };
        tensor.Dims.AddRange(dims);
        return tensor;
    }
}

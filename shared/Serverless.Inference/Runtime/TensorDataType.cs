using Microsoft.ML.OnnxRuntime.Tensors;

namespace Serverless.Inference.Runtime;

/// <summary>The Open Inference Protocol datatypes that ONNX tensors can carry.</summary>
public enum TensorDataType
{
    Bool,
    Int8,
    Int16,
    Int32,
    Int64,
    UInt8,
    UInt16,
    UInt32,
    UInt64,
    Fp16,
    Fp32,
    Fp64,
    Bytes,
}

internal static class TensorDataTypes
{
    private static readonly string[] Names =
        ["BOOL", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64", "FP16", "FP32", "FP64", "BYTES"];

    public static string ToProtocolName(this TensorDataType type) => Names[(int)type];

    public static bool TryParse(ReadOnlySpan<char> name, out TensorDataType type)
    {
        for (var i = 0; i < Names.Length; i++)
        {
            if (name.SequenceEqual(Names[i]))
            {
                type = (TensorDataType)i;
                return true;
            }
        }

        type = default;
        return false;
    }

    /// <summary>Bytes per element in the binary encoding; 0 for BYTES, whose elements carry their own length.</summary>
    public static int ElementSize(this TensorDataType type) => type switch
    {
        TensorDataType.Bool or TensorDataType.Int8 or TensorDataType.UInt8 => 1,
        TensorDataType.Int16 or TensorDataType.UInt16 or TensorDataType.Fp16 => 2,
        TensorDataType.Int32 or TensorDataType.UInt32 or TensorDataType.Fp32 => 4,
        TensorDataType.Int64 or TensorDataType.UInt64 or TensorDataType.Fp64 => 8,
        _ => 0,
    };

    public static TensorElementType ToOnnx(this TensorDataType type) => type switch
    {
        TensorDataType.Bool => TensorElementType.Bool,
        TensorDataType.Int8 => TensorElementType.Int8,
        TensorDataType.Int16 => TensorElementType.Int16,
        TensorDataType.Int32 => TensorElementType.Int32,
        TensorDataType.Int64 => TensorElementType.Int64,
        TensorDataType.UInt8 => TensorElementType.UInt8,
        TensorDataType.UInt16 => TensorElementType.UInt16,
        TensorDataType.UInt32 => TensorElementType.UInt32,
        TensorDataType.UInt64 => TensorElementType.UInt64,
        TensorDataType.Fp16 => TensorElementType.Float16,
        TensorDataType.Fp32 => TensorElementType.Float,
        TensorDataType.Fp64 => TensorElementType.Double,
        TensorDataType.Bytes => TensorElementType.String,
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    public static bool TryFromOnnx(TensorElementType onnx, out TensorDataType type)
    {
        (var known, type) = onnx switch
        {
            TensorElementType.Bool => (true, TensorDataType.Bool),
            TensorElementType.Int8 => (true, TensorDataType.Int8),
            TensorElementType.Int16 => (true, TensorDataType.Int16),
            TensorElementType.Int32 => (true, TensorDataType.Int32),
            TensorElementType.Int64 => (true, TensorDataType.Int64),
            TensorElementType.UInt8 => (true, TensorDataType.UInt8),
            TensorElementType.UInt16 => (true, TensorDataType.UInt16),
            TensorElementType.UInt32 => (true, TensorDataType.UInt32),
            TensorElementType.UInt64 => (true, TensorDataType.UInt64),
            TensorElementType.Float16 => (true, TensorDataType.Fp16),
            TensorElementType.Float => (true, TensorDataType.Fp32),
            TensorElementType.Double => (true, TensorDataType.Fp64),
            TensorElementType.String => (true, TensorDataType.Bytes),
            _ => (false, default(TensorDataType)),
        };
        return known;
    }
}

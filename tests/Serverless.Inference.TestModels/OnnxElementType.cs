using System.Diagnostics.CodeAnalysis;

namespace Serverless.Inference.TestModels;

/// <summary>Tensor element types, numbered as ONNX <c>TensorProto.DataType</c>.</summary>
[SuppressMessage("Naming", "CA1720:Identifier contains type name", Justification = "Members mirror ONNX's DataType names.")]
public enum OnnxElementType
{
    Float = 1,
    UInt8 = 2,
    Int8 = 3,
    UInt16 = 4,
    Int16 = 5,
    Int32 = 6,
    Int64 = 7,
    String = 8,
    Bool = 9,
    Float16 = 10,
    Double = 11,
    UInt32 = 12,
    UInt64 = 13,
}

using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Serverless.Inference.TestModels;

/// <summary>Just enough of the protobuf wire format to encode an ONNX model.</summary>
internal sealed class ProtobufWriter
{
    private const int VarintWireType = 0;
    private const int LengthDelimitedWireType = 2;
    private const int Fixed32WireType = 5;

    private readonly ArrayBufferWriter<byte> buffer = new();

    public void WriteInt64(int field, long value)
    {
        WriteTag(field, VarintWireType);
        WriteVarint(unchecked((ulong)value));
    }

    public void WriteFloat(int field, float value)
    {
        WriteTag(field, Fixed32WireType);
        BinaryPrimitives.WriteSingleLittleEndian(buffer.GetSpan(sizeof(float)), value);
        buffer.Advance(sizeof(float));
    }

    public void WriteString(int field, string value) => WriteBytes(field, Encoding.UTF8.GetBytes(value));

    public void WriteBytes(int field, ReadOnlySpan<byte> value)
    {
        WriteTag(field, LengthDelimitedWireType);
        WriteVarint((ulong)value.Length);
        buffer.Write(value);
    }

    public void WriteMessage(int field, Action<ProtobufWriter> writeBody)
    {
        // The length prefix comes first, so the body is encoded on its own before it is copied in.
        var body = new ProtobufWriter();
        writeBody(body);
        WriteBytes(field, body.buffer.WrittenSpan);
    }

    public byte[] ToArray() => buffer.WrittenSpan.ToArray();

    private void WriteTag(int field, int wireType) => WriteVarint((ulong)(((uint)field << 3) | (uint)wireType));

    private void WriteVarint(ulong value)
    {
        var span = buffer.GetSpan(10);
        var length = 0;
        while (value >= 0x80)
        {
            span[length++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[length++] = (byte)value;
        buffer.Advance(length);
    }
}

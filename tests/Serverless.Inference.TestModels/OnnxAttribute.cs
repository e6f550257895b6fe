using System.Diagnostics.CodeAnalysis;

namespace Serverless.Inference.TestModels;

/// <summary>A node attribute (ONNX <c>AttributeProto</c>); only the kinds the test models need.</summary>
[SuppressMessage("Naming", "CA1720:Identifier contains type name", Justification = "Factories mirror ONNX's AttributeType names.")]
public abstract record OnnxAttribute(string Name)
{
    private const int NameField = 1;
    private const int FloatField = 2;
    private const int IntField = 3;
    private const int IntsField = 8;
    private const int TypeField = 20;

    public static OnnxAttribute Int(string name, long value) => new IntAttribute(name, value);

    public static OnnxAttribute Float(string name, float value) => new FloatAttribute(name, value);

    public static OnnxAttribute Ints(string name, params long[] values) => new IntsAttribute(name, [.. values]);

    internal void WriteTo(ProtobufWriter writer)
    {
        writer.WriteString(NameField, Name);
        writer.WriteInt64(TypeField, (long)Kind);
        WriteValue(writer);
    }

    private protected abstract AttributeKind Kind { get; }

    private protected abstract void WriteValue(ProtobufWriter writer);

    private protected enum AttributeKind
    {
        Float = 1,
        Int = 2,
        Ints = 7,
    }

    private sealed record IntAttribute(string Name, long Value) : OnnxAttribute(Name)
    {
        private protected override AttributeKind Kind => AttributeKind.Int;

        private protected override void WriteValue(ProtobufWriter writer) => writer.WriteInt64(IntField, Value);
    }

    private sealed record FloatAttribute(string Name, float Value) : OnnxAttribute(Name)
    {
        private protected override AttributeKind Kind => AttributeKind.Float;

        private protected override void WriteValue(ProtobufWriter writer) => writer.WriteFloat(FloatField, Value);
    }

    private sealed record IntsAttribute(string Name, long[] Values) : OnnxAttribute(Name)
    {
        private protected override AttributeKind Kind => AttributeKind.Ints;

        private protected override void WriteValue(ProtobufWriter writer)
        {
            foreach (var value in Values)
            {
                writer.WriteInt64(IntsField, value);
            }
        }
    }
}

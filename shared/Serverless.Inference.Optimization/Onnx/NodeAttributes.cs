using Onnx;

namespace Serverless.Inference.Optimization.Onnx;

/// <summary>Reads and writes node attributes.</summary>
internal static class NodeAttributes
{
    public static long Int(this NodeProto node, string name, long fallback) =>
        node.Attribute.FirstOrDefault(attribute => attribute.Name == name) is { } attribute ? attribute.I : fallback;

    public static float Float(this NodeProto node, string name, float fallback) =>
        node.Attribute.FirstOrDefault(attribute => attribute.Name == name) is { } attribute ? attribute.F : fallback;

    public static NodeProto WithInt(this NodeProto node, string name, long value)
    {
        node.Attribute.Add(new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value });
        return node;
    }

    public static NodeProto WithFloat(this NodeProto node, string name, float value)
    {
        node.Attribute.Add(new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value });
        return node;
    }

    public static NodeProto WithInts(this NodeProto node, string name, IEnumerable<long> values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        node.Attribute.Add(attribute);
        return node;
    }
}

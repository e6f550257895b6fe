using Google.Protobuf;
using Onnx;

namespace Serverless.Inference.Optimization.Onnx;

/// <summary>Reads and writes ONNX model files.</summary>
internal static class OnnxModelFile
{
    public static ModelProto Load(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            return ModelProto.Parser.ParseFrom(stream);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new OptimizationException($"{Path.GetFileName(path)} is not an ONNX model: {e.Message}", e);
        }
    }

    public static ModelProto Parse(ReadOnlySpan<byte> bytes)
    {
        try
        {
            return ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new OptimizationException($"not an ONNX model: {e.Message}", e);
        }
    }

    /// <summary>Writes under a temporary name and renames, so a reader never sees half a model.</summary>
    public static void Save(ModelProto model, string path)
    {
        var part = path + ".part";
        using (var stream = File.Create(part))
        {
            model.WriteTo(stream);
        }

        File.Move(part, path, overwrite: true);
    }
}

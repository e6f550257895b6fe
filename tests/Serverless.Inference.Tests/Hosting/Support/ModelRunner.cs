using Serverless.Inference.Repository;
using Serverless.Inference.Runtime;

namespace Serverless.Inference.Tests.Hosting.Support;

/// <summary>Loading test models straight into an <see cref="OnnxModel"/>, and running them on float inputs.</summary>
internal static class ModelRunner
{
    /// <summary>A guard against a test hanging forever on a broken handshake; never a timing assertion.</summary>
    public static readonly TimeSpan HangGuard = TimeSpan.FromMinutes(2);

    /// <summary>A model that loads fine but fails on an all-zero input: it gathers from an empty tensor.</summary>
    public static byte[] RejectsZeros() =>
        new OnnxModelBuilder("rejects-zeros")
            .Input("i", OnnxElementType.Int64, "N")
            .Output("y", OnnxElementType.Float, "N")
            .Initializer<float>("data", ReadOnlySpan<float>.Empty, 0)
            .Node("Gather", ["data", "i"], ["y"])
            .ToBytes();

    public static OnnxModel Load(byte[] onnx, ModelManifest? manifest = null)
    {
        var path = Path.Combine(Path.GetTempPath(), "onnx-model-" + Guid.NewGuid().ToString("N") + ".onnx");
        File.WriteAllBytes(path, onnx);
        try
        {
            return OnnxModelFactory.Create(path, manifest ?? new ModelManifest(), intraOpThreads: 1, optimizedGraphPath: null);
        }
        finally
        {
            File.Delete(path);
        }
    }

    public static InputTensor Floats(string name, long[] shape, params float[] values) =>
        InputTensor.FromArray<float>(name, TensorDataType.Fp32, shape, values);

    /// <summary>Runs the model on one float input and returns its first output.</summary>
    public static float[] RunFloats(OnnxModel model, string input, long[] shape, params float[] values)
    {
        using var tensor = Floats(input, shape, values);
        using var outputs = model.Run([tensor], null, CancellationToken.None);
        return outputs.Tensors[0].AsSpan<float>().ToArray();
    }

    /// <summary>Runs an <see cref="OnnxTestModels.Identity"/> float model on [1, 2, 3].</summary>
    public static float[] RunIdentity(OnnxModel model) => RunFloats(model, "x", [3], 1f, 2f, 3f);
}

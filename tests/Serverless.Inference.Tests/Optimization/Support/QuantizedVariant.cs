using System.Globalization;
using System.Text.Json;
using Serverless.Inference.Optimization.Reports;
using Serverless.Inference.Optimization.Variants;
using Serverless.Inference.TestModels;

namespace Serverless.Inference.Tests.Optimization.Support;

/// <summary>
/// A model repository folder holding "dense" (y = x · W, x float [N, 16], W float [16, 8]) as version 1 and its
/// int8-dynamic variant as version 2 with the alias "fast", made by <c>infer optimize</c>'s <see cref="VariantMaker"/>
/// with the real rewrite: what a user uploads to a cloud store after optimizing locally. Shared (linked) by the
/// adapters' tests, which serve it from moto's S3 and Azurite's Blob Storage.
/// </summary>
internal static class QuantizedVariant
{
    public const string Model = "dense";
    public const int Inputs = 16;
    public const int Outputs = 8;

    /// <summary>Makes the repository in a new temp folder; the caller deletes it.</summary>
    public static async Task<string> MakeAsync()
    {
        var root = Directory.CreateTempSubdirectory("quantized-variant-").FullName;
        Directory.CreateDirectory(Path.Combine(root, Model, "1"));
        await File.WriteAllTextAsync(Path.Combine(root, Model, "model.json"), """{ "max_batch_size": 8 }""");
        await File.WriteAllBytesAsync(Path.Combine(root, Model, "1", "model.onnx"), Source());
        var outcome = await new VariantMaker(TimeProvider.System, new MeasureOptions(1, 1))
            .MakeAsync(new OptimizeRequest(root, Model, null, "int8-dynamic", PublishAlias: "fast"), CancellationToken.None);
        return outcome.Published ? root : throw new InvalidOperationException("the variant was not published");
    }

    /// <summary>The repository's files as store keys (model/..., forward slashes) and local paths.</summary>
    public static IEnumerable<(string Key, string Path)> Files(string root) =>
        Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Select(path => (System.IO.Path.GetRelativePath(root, path).Replace('\\', '/'), path));

    /// <summary>An OIP request for two rows.</summary>
    public static string InferBody() =>
        $$"""{"inputs":[{"name":"x","datatype":"FP32","shape":[2,{{Inputs}}],"data":[{{string.Join(',', Rows().Select(v => v.ToString("R", CultureInfo.InvariantCulture)))}}]}]}""";

    /// <summary>y = x · W for the request's rows, computed here.</summary>
    public static float[] Expected()
    {
        var x = Rows();
        var w = Weights();
        var y = new float[2 * Outputs];
        for (var row = 0; row < 2; row++)
        {
            for (var o = 0; o < Outputs; o++)
            {
                for (var i = 0; i < Inputs; i++)
                {
                    y[(row * Outputs) + o] += x[(row * Inputs) + i] * w[(i * Outputs) + o];
                }
            }
        }

        return y;
    }

    /// <summary>The "y" output's data and the version that answered, from a response body.</summary>
    public static (string Version, float[] Y) Read(string responseJson)
    {
        using var json = JsonDocument.Parse(responseJson);
        var y = json.RootElement.GetProperty("outputs").EnumerateArray().Single(o => o.GetProperty("name").GetString() == "y");
        return (json.RootElement.GetProperty("model_version").GetString()!, [.. y.GetProperty("data").EnumerateArray().Select(v => v.GetSingle())]);
    }

    private static byte[] Source() =>
        new OnnxModelBuilder(Model)
            .Input("x", OnnxElementType.Float, "N", Inputs)
            .Output("y", OnnxElementType.Float, "N", Outputs)
            .Initializer<float>("W", Weights(), Inputs, Outputs)
            .Node("MatMul", ["x", "W"], ["y"])
            .ToBytes();

    private static float[] Weights() => [.. Enumerable.Range(0, Inputs * Outputs).Select(i => MathF.Sin(i * 0.37f))];

    private static float[] Rows() => [.. Enumerable.Range(0, 2 * Inputs).Select(i => MathF.Cos(i * 0.11f))];
}

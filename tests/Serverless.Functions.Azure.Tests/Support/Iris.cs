using System.Globalization;
using System.Text.Json;
using Azure.Storage.Blobs;

namespace Serverless.Functions.Azure.Tests.Support;

/// <summary>The sample iris model (copied to <c>models/iris</c> by the build) and its hand-checked cases.</summary>
public static class Iris
{
    public const string Header = "sepal_length,sepal_width,petal_length,petal_width";

    public static string Folder => Path.Combine(AppContext.BaseDirectory, "models", "iris");

    public static byte[] Onnx => File.ReadAllBytes(Path.Combine(Folder, "1", "model.onnx"));

    public static byte[] Manifest => File.ReadAllBytes(Path.Combine(Folder, "model.json"));

    private static readonly Lazy<(float[][] Inputs, string[] Labels)> Cases = new(() =>
    {
        using var json = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Folder, "expected.json")));
        var root = json.RootElement;
        return (
            [.. root.GetProperty("inputs").EnumerateArray().Select(row => row.EnumerateArray().Select(v => v.GetSingle()).ToArray())],
            [.. root.GetProperty("labels").EnumerateArray().Select(l => l.GetString()!)]);
    });

    public static IReadOnlyList<float[]> Inputs => Cases.Value.Inputs;

    public static IReadOnlyList<string> Labels => Cases.Value.Labels;

    public static string Csv(int i) => string.Join(',', Inputs[i].Select(v => v.ToString(CultureInfo.InvariantCulture)));

    /// <summary>An OIP request body for every hand-checked case.</summary>
    public static string InferBody() =>
        $$"""{"inputs":[{"name":"Features","datatype":"FP32","shape":[{{Inputs.Count}},4],"data":[{{string.Join(',', Inputs.Select(row => string.Join(',', row.Select(v => v.ToString(CultureInfo.InvariantCulture)))))}}]}]}""";

    /// <summary>The same model with different bytes: an appended ModelProto doc_string (field 6) that ONNX parses and ignores.</summary>
    public static byte[] OnnxWithDocString(string text)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);
        return [.. Onnx, 0x32, checked((byte)bytes.Length), .. bytes];
    }

    /// <summary>Uploads the model into the models container in the repository layout.</summary>
    public static async Task UploadAsync(BlobServiceClient service)
    {
        var models = service.GetBlobContainerClient(AzureContract.ModelsContainer);
        await models.CreateIfNotExistsAsync();
        await models.GetBlobClient("iris/model.json").UploadAsync(new BinaryData(Manifest), overwrite: true);
        await models.GetBlobClient("iris/1/model.onnx").UploadAsync(new BinaryData(Onnx), overwrite: true);
    }
}

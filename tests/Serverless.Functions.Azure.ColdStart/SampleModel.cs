using System.Text.Json;
using Azure.Storage.Blobs;

namespace Serverless.Functions.Azure.ColdStart;

/// <summary>
/// A sample model measured here (from this build's models/ folder), the first request a client sends it, and how to
/// tell its answer is a real one.
/// </summary>
internal sealed record SampleModel(string Name, string RequestBody, Func<JsonElement, bool> IsAnswer)
{
    public static readonly SampleModel Iris = new(
        "iris",
        """{"inputs":[{"name":"Features","datatype":"FP32","shape":[1,4],"data":[5.1,3.5,1.4,0.2]}]}""",
        outputs => Output(outputs, "PredictedLabel.output") is { } label && label.GetProperty("data")[0].GetString() is { Length: > 0 });

    public static readonly SampleModel MiniLm = new(
        "minilm",
        """{"inputs":[{"name":"text","datatype":"BYTES","shape":[1],"data":["A cold start pays for the model before the first answer."]}]}""",
        outputs => Output(outputs, "embedding") is { } embedding && embedding.GetProperty("data").GetArrayLength() == 384);

    public static IReadOnlyList<SampleModel> All { get; } = [Iris, MiniLm];

    private static string Folder(string name) => Path.Combine(AppContext.BaseDirectory, "models", name);

    /// <summary>Uploads model.json and the version folder 1 into the models container, as an operator would.</summary>
    public async Task UploadAsync(BlobContainerClient models)
    {
        ArgumentNullException.ThrowIfNull(models);
        var folder = Folder(Name);
        foreach (var file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories))
        {
            var name = $"{Name}/{Path.GetRelativePath(folder, file).Replace(Path.DirectorySeparatorChar, '/')}";
            await using var content = File.OpenRead(file);
            await models.UploadBlobAsync(name, content).ConfigureAwait(false);
        }
    }

    private static JsonElement? Output(JsonElement response, string name) =>
        response.TryGetProperty("outputs", out var outputs)
            ? outputs.EnumerateArray().Where(o => o.GetProperty("name").GetString() == name).Select(o => (JsonElement?)o).FirstOrDefault()
            : null;
}

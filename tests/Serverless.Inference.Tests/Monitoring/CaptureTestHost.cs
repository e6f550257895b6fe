using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Serverless.Inference.Batch;
using Serverless.Inference.Hosting;
using Serverless.Inference.Monitoring;
using Serverless.Inference.Protocol;
using Serverless.Inference.Repository;
using Serverless.Inference.Tests.Support;

namespace Serverless.Inference.Tests.Monitoring;

/// <summary>
/// Sample models whose manifests gain a <c>monitoring.capture</c> section, served by a real host and handler whose
/// capture writes to a real local folder store; records are read back from the objects written.
/// </summary>
public sealed class CaptureTestHost : IAsyncDisposable
{
    private readonly TempModelRepository _repository = new();

    /// <param name="captures">Model name → the capture section's JSON.</param>
    /// <param name="store">The store to write to; a local folder under the test's temp folder when null.</param>
    public CaptureTestHost(IReadOnlyDictionary<string, string> captures, IBatchStore? store = null, CaptureOptions? options = null, ILogger<PredictionCapture>? logger = null)
    {
        foreach (var (model, capture) in captures)
        {
            _repository.CopySample(model);
            var manifestPath = Path.Combine(_repository.Root, model, "model.json");
            var manifest = JsonNode.Parse(File.ReadAllText(manifestPath))!.AsObject();
            manifest["monitoring"] = JsonNode.Parse($$"""{"capture":{{capture}}}""");
            File.WriteAllText(manifestPath, manifest.ToJsonString());
        }

        CaptureRoot = Path.Combine(_repository.Root, "capture-root");
        Directory.CreateDirectory(CaptureRoot);
        Capture = new PredictionCapture(store ?? new LocalFolderBatchStore(CaptureRoot), options ?? new CaptureOptions { BackgroundFlush = false }, logger);
        Host = new ModelHost(new LocalFolderModelStore(_repository.Root), new ModelHostOptions { DefaultIntraOpThreads = 1, Capture = Capture });
        Handler = new OpenInferenceHandler(Host, new RequestLimits());
    }

    public string CaptureRoot { get; }

    public PredictionCapture Capture { get; }

    public ModelHost Host { get; }

    public OpenInferenceHandler Handler { get; }

    public async Task<int> InferAsync(string model, string json)
    {
        var body = Encoding.UTF8.GetBytes(json);
        using var response = await Handler.HandleAsync(
            new OipHttpRequest("POST", $"/v2/models/{model}/infer", _ => null, new MemoryStream(body), body.Length), CancellationToken.None);
        Assert.True(response.StatusCode == 200, Encoding.UTF8.GetString(response.Body.Span));
        return response.StatusCode;
    }

    /// <summary>Every object under capture/ (key relative to the store, '/'-separated) with its lines parsed.</summary>
    public IReadOnlyList<(string Key, IReadOnlyList<JsonElement> Records)> Objects()
    {
        var folder = Path.Combine(CaptureRoot, PredictionCapture.Folder);
        if (!Directory.Exists(folder))
        {
            return [];
        }

        return [.. Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Order(StringComparer.Ordinal)
            .Select(path => (
                Path.GetRelativePath(CaptureRoot, path).Replace(Path.DirectorySeparatorChar, '/'),
                (IReadOnlyList<JsonElement>)[.. File.ReadAllLines(path).Select(line => JsonDocument.Parse(line).RootElement.Clone())]))];
    }

    public IReadOnlyList<JsonElement> Records() => [.. Objects().SelectMany(o => o.Records)];

    public async ValueTask DisposeAsync()
    {
        await Capture.DisposeAsync();
        Host.Dispose();
        _repository.Dispose();
    }
}

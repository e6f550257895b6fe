using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Serverless.Infer.Cli;
using Serverless.Inference.Monitoring;
using Serverless.Inference.Tests.Batch.Support;
using Serverless.Inference.Tests.Support;

namespace Serverless.Inference.Tests.Monitoring;

/// <summary><c>infer serve --capture-dir</c>: requests over HTTP and gRPC's shared path land under capture/ of the folder.</summary>
public sealed class CaptureServeTests
{
    [Fact]
    public async Task Serve_CaptureDirectory_RecordsWrittenWhenTheHostStops()
    {
        using var repository = new TempModelRepository().CopySample("iris");
        var manifestPath = Path.Combine(repository.Root, "iris", "model.json");
        var manifest = JsonNode.Parse(File.ReadAllText(manifestPath))!.AsObject();
        manifest["monitoring"] = JsonNode.Parse("""{"capture":{"sample_rate":1}}""");
        File.WriteAllText(manifestPath, manifest.ToJsonString());
        var captureDirectory = Path.Combine(repository.Root, "captured");

        var app = ServeCommand.Build(new ServeSettings(repository.Root, Port: 0, 1 << 20, Warmup: false, CaptureDirectory: captureDirectory));
        await app.StartAsync();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(app.Urls.Single().Replace("[::]", "127.0.0.1", StringComparison.Ordinal)) };
            var body = $$"""{"id":"over-http","inputs":[{"name":"Features","datatype":"FP32","shape":[1,4],"data":{{IrisExpected.Json(1)}}}]}""";
            using var response = await http.PostAsync(new Uri("/v2/models/iris/infer", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));
            Assert.Equal(200, (int)response.StatusCode);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        var file = Assert.Single(Directory.EnumerateFiles(Path.Combine(captureDirectory, PredictionCapture.Folder, "iris", "1"), "*.jsonl", SearchOption.AllDirectories));
        using var record = JsonDocument.Parse(Assert.Single(File.ReadAllLines(file)));
        Assert.Equal("over-http", record.RootElement.GetProperty("id").GetString());
        Assert.Equal(IrisExpected.Labels[1], record.RootElement.GetProperty("outputs").GetProperty("PredictedLabel.output").GetString());
    }
}

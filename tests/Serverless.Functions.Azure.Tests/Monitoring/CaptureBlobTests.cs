using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Inference.Monitoring;

namespace Serverless.Functions.Azure.Tests.Monitoring;

/// <summary>Requests through the HTTP function of a model with monitoring.capture: objects in Azurite's capture container.</summary>
public sealed class CaptureBlobTests(Azurite azurite) : IClassFixture<Azurite>, IDisposable
{
    private readonly AzureApp _app = new(azurite.ConnectionString);

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task Infer_CapturedModel_ObjectInTheCaptureContainerWithTheDocumentedKey()
    {
        var service = azurite.CreateClient();
        await Iris.UploadAsync(service);
        var manifest = JsonNode.Parse(Iris.Manifest)!.AsObject();
        manifest["monitoring"] = JsonNode.Parse("""{"capture":{"sample_rate":1}}""");
        await service.GetBlobContainerClient(AzureContract.ModelsContainer).GetBlobClient("iris/model.json").UploadAsync(BinaryData.FromString(manifest.ToJsonString()), overwrite: true);

        var reply = await _app.SendAsync("POST", "/v2/models/iris/infer", Iris.InferBody().Replace("{\"inputs\"", "{\"id\":\"az-1\",\"inputs\"", StringComparison.Ordinal));
        await _app.Services.GetRequiredService<PredictionCapture>().FlushAsync();

        Assert.Equal(200, reply.Status);
        var container = service.GetBlobContainerClient(PredictionCapture.Folder);
        var blobs = new List<string>();
        await foreach (var item in container.GetBlobsAsync())
        {
            blobs.Add(item.Name);
        }

        // The app's clock is the test's: 2026-11-28T00:00Z.
        var name = Assert.Single(blobs);
        Assert.Matches(@"^iris/1/2026/11/28/00/[0-9a-f]{12}-\d{8}\.jsonl$", name);
        var content = (await container.GetBlobClient(name).DownloadContentAsync()).Value.Content.ToString();
        var records = content.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement).ToList();
        Assert.Equal(Iris.Inputs.Count, records.Count);
        Assert.Equal(Enumerable.Range(0, Iris.Inputs.Count).Select(row => $"az-1/{row}"), records.Select(r => r.GetProperty("id").GetString()));
        Assert.All(records, r => Assert.Equal("2026-11-28T00:00:00.000Z", r.GetProperty("time").GetString()));
        Assert.Equal(Iris.Labels, records.Select(r => r.GetProperty("outputs").GetProperty("PredictedLabel.output").GetString()));
    }
}

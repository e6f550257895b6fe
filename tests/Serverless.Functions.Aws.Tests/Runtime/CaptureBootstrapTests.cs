using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Amazon.S3.Model;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Inference.Monitoring;

namespace Serverless.Functions.Aws.Tests.Runtime;

/// <summary>
/// Prediction capture on Lambda: no background loop (the sandbox may be frozen between invocations), so the records of
/// an invocation reach the bucket's capture/ prefix through the end-of-invocation hook, before the next event.
/// </summary>
public sealed partial class CaptureBootstrapTests(MotoServer moto) : IClassFixture<MotoServer>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Bootstrap_CapturedModel_ObjectInTheBucketOnceTheInvocationEnds()
    {
        await using var function = await MotoFunction.CreateAsync(moto);
        await PutCapturedManifestAsync(function);
        await using var api = await RuntimeApiServer.StartAsync();
        var environment = new Dictionary<string, string>(moto.Environment) { ["INFERENCE_BUCKET"] = function.Bucket };
        await using var bootstrap = BootstrapProcess.Start(api.Endpoint, environment);

        var infer = await api.InvokeAsync(HttpApiEvents.Infer(TestModels.IrisInferBody.Replace("{\"inputs\"", "{\"id\":\"lambda-1\",\"inputs\"", StringComparison.Ordinal))).WaitAsync(Patience);
        // The bootstrap asks for this event only after the first invocation's hooks have run.
        var next = await api.InvokeAsync(HttpApiEvents.Create("GET", "/v2/health/live")).WaitAsync(Patience);

        Assert.True(infer.Kind == "response" && next.Kind == "response", bootstrap.Output);
        Assert.Equal(200, infer.Json.GetProperty("statusCode").GetInt32());
        var key = Assert.Single(await function.KeysAsync("capture/"));
        Assert.Matches(CaptureKey(), key);
        using var record = JsonDocument.Parse((await function.ReadAsync(key)).TrimEnd('\n'));
        Assert.Equal("lambda-1", record.RootElement.GetProperty("id").GetString());
        Assert.Equal("online", record.RootElement.GetProperty("source").GetString());
        Assert.Equal("setosa", record.RootElement.GetProperty("outputs").GetProperty("PredictedLabel.output").GetString());
    }

    [Fact]
    public async Task Dispatcher_CapturedModel_FlushWritesUnderTheCapturePrefix()
    {
        await using var function = await MotoFunction.CreateAsync(moto);
        await PutCapturedManifestAsync(function);

        var answer = JsonDocument.Parse((await function.InvokeAsync(HttpApiEvents.Infer(TestModels.IrisInferBody))).ToArray()).RootElement;
        await function.Services.GetRequiredService<PredictionCapture>().FlushAsync();

        Assert.Equal(200, answer.GetProperty("statusCode").GetInt32());
        var key = Assert.Single(await function.KeysAsync("capture/"));
        Assert.Matches(CaptureKey(), key);
        Assert.Single((await function.ReadAsync(key)).Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    private static async Task PutCapturedManifestAsync(MotoFunction function)
    {
        var manifest = JsonNode.Parse(await File.ReadAllTextAsync(TestModels.IrisManifest))!.AsObject();
        manifest["monitoring"] = JsonNode.Parse("""{"capture":{"sample_rate":1}}""");
        await function.S3.PutObjectAsync(new PutObjectRequest { BucketName = function.Bucket, Key = "models/iris/model.json", ContentBody = manifest.ToJsonString() });
    }

    [GeneratedRegex(@"^capture/iris/1/\d{4}/\d{2}/\d{2}/\d{2}/[0-9a-f]{12}-\d{8}\.jsonl$")]
    private static partial Regex CaptureKey();
}

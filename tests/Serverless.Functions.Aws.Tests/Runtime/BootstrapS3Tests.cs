namespace Serverless.Functions.Aws.Tests.Runtime;

/// <summary>The real bootstrap binary with its bucket in moto: models from S3, batch events from the real notification.</summary>
public sealed class BootstrapS3Tests(MotoServer moto) : IClassFixture<MotoServer>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Bootstrap_ModelInS3_AnswersHttpAndSqsEvents()
    {
        await using var function = await MotoFunction.CreateAsync(moto);
        await using var api = await RuntimeApiServer.StartAsync();
        var environment = new Dictionary<string, string>(moto.Environment)
        {
            ["INFERENCE_BUCKET"] = function.Bucket,
            ["INFERENCE_WARMUP_MODELS"] = "iris",
        };
        await using var bootstrap = BootstrapProcess.Start(api.Endpoint, environment);
        await function.PutAsync("incoming/iris/flowers.csv", TestModels.IrisCsv);
        var messages = await function.ReceiveAsync(2);

        var http = await api.InvokeAsync(HttpApiEvents.Infer(TestModels.IrisInferBody)).WaitAsync(Patience);
        var batch = await api.InvokeAsync(function.SqsEvent(messages)).WaitAsync(Patience);

        Assert.True(http.Kind == "response", bootstrap.Output);
        Assert.Equal(200, http.Json.GetProperty("statusCode").GetInt32());
        Assert.True(batch.Kind == "response", bootstrap.Output);
        Assert.Equal(0, batch.Json.GetProperty("batchItemFailures").GetArrayLength());
        Assert.Equal(2, (await function.KeysAsync("outgoing/iris/")).Count);
    }
}

using System.Text.Json;

namespace Serverless.Functions.Aws.Tests.Runtime;

/// <summary>The stream function as the real bootstrap binary: the sample Kinesis event through the Runtime API into moto.</summary>
public sealed class BootstrapStreamTests(MotoServer moto) : IClassFixture<MotoServer>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static string SampleEvent => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "functions-aws", "events", "kinesis.json"));

    [Fact]
    public async Task Bootstrap_SampleKinesisEventTwice_PredictionsOnceAlertOnce()
    {
        await using var stream = await MotoStream.CreateAsync(moto);
        await using var api = await RuntimeApiServer.StartAsync();
        await using var bootstrap = BootstrapProcess.Start(api.Endpoint, stream.Environment);

        var first = await api.InvokeAsync(SampleEvent).WaitAsync(Patience);
        var again = await api.InvokeAsync(SampleEvent).WaitAsync(Patience);

        Assert.True(first.Kind == "response", bootstrap.Output);
        Assert.Equal(0, first.Json.GetProperty("batchItemFailures").GetArrayLength());
        Assert.True(again.Kind == "response", bootstrap.Output);
        Assert.Equal(0, again.Json.GetProperty("batchItemFailures").GetArrayLength());
        var keys = await stream.KeysAsync(LambdaContract.PredictionsPrefix);
        // Runs of two: the sample's three records make two objects, in the hour of the first record's arrival.
        Assert.Equal(2, keys.Count);
        Assert.All(keys, key => Assert.StartsWith("predictions/iris/2026/11/28/04/ServerlessInference-Records-shardId-000000000000-", key, StringComparison.Ordinal));
        var lines = await stream.PredictionLinesAsync();
        Assert.Equal(["sensor-7", "sensor-7", "sensor-9"], lines.Select(l => l.GetProperty("key").GetString()));
        var alert = Assert.Single(await stream.DrainAlertsAsync(1));
        using var body = JsonDocument.Parse(alert.Body);
        Assert.Equal(("virginica", "sensor-9"), (body.RootElement.GetProperty("rule").GetString(), body.RootElement.GetProperty("key").GetString()));
    }

    [Fact]
    public async Task Bootstrap_UnknownStreamModel_InitErrorNamesTheVariable()
    {
        await using var stream = await MotoStream.CreateAsync(moto);
        await using var api = await RuntimeApiServer.StartAsync();
        var environment = new Dictionary<string, string>(stream.Environment) { [LambdaContract.StreamModelVariable] = "nosuchmodel" };
        await using var bootstrap = BootstrapProcess.Start(api.Endpoint, environment);

        var initError = await api.InitError.WaitAsync(Patience);
        var exitCode = await bootstrap.WaitForExitAsync(Patience);

        Assert.Equal(1, exitCode);
        var message = initError.Json.GetProperty("errorMessage").GetString();
        Assert.Contains($"{LambdaContract.StreamModelVariable}=nosuchmodel", message, StringComparison.Ordinal);
    }
}

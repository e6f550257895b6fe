namespace Serverless.Functions.Aws.Tests.Runtime;

/// <summary>The real bootstrap binary against a Runtime API test server, with the iris model in a local repository.</summary>
public sealed class BootstrapProcessTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private RuntimeApiServer _api = null!;

    public async Task InitializeAsync() => _api = await RuntimeApiServer.StartAsync();

    public async Task DisposeAsync() => await _api.DisposeAsync();

    private static Dictionary<string, string> LocalModels(string? warmup = "iris") => new()
    {
        ["INFERENCE_MODEL_DIR"] = TestModels.Repository,
        ["INFERENCE_WARMUP_MODELS"] = warmup ?? string.Empty,
    };

    [Fact]
    public async Task HttpApiInfer_IrisRow_PostsOipResponseWithSetosa()
    {
        await using var bootstrap = BootstrapProcess.Start(_api.Endpoint, LocalModels());

        var answer = await _api.InvokeAsync(HttpApiEvents.Infer(TestModels.IrisInferBody)).WaitAsync(Patience);

        Assert.Equal("response", answer.Kind);
        var response = answer.Json;
        Assert.Equal(200, response.GetProperty("statusCode").GetInt32());
        Assert.False(response.GetProperty("isBase64Encoded").GetBoolean());
        Assert.Equal("application/json", response.GetProperty("headers").GetProperty("content-type").GetString());
        using var body = JsonDocument.Parse(response.GetProperty("body").GetString()!);
        var label = body.RootElement.GetProperty("outputs").EnumerateArray().Single(o => o.GetProperty("name").GetString() == "PredictedLabel.output");
        Assert.Equal("setosa", label.GetProperty("data")[0].GetString());
        Assert.Equal([202], _api.AnswerStatuses);
    }

    [Fact]
    public async Task UnknownEvent_PostsErrorAndTheLoopAnswersTheNextEvent()
    {
        await using var bootstrap = BootstrapProcess.Start(_api.Endpoint, LocalModels());

        var error = await _api.InvokeAsync("""{"hello":"world"}""").WaitAsync(Patience);
        var next = await _api.InvokeAsync(HttpApiEvents.Create("GET", "/v2/health/ready")).WaitAsync(Patience);

        Assert.Equal("error", error.Kind);
        Assert.Equal("application/vnd.aws.lambda.error+json", error.ContentType);
        Assert.Equal("UnknownEventException", error.ErrorType);
        Assert.Equal("UnknownEventException", error.Json.GetProperty("errorType").GetString());
        Assert.StartsWith("the event is neither an API Gateway HTTP API", error.Json.GetProperty("errorMessage").GetString(), StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Array, error.Json.GetProperty("stackTrace").ValueKind);
        Assert.NotEqual(0, error.Json.GetProperty("stackTrace").GetArrayLength());

        Assert.Equal("response", next.Kind);
        Assert.Equal(200, next.Json.GetProperty("statusCode").GetInt32());
        Assert.False(bootstrap.HasExited);
    }

    [Fact]
    public async Task S3EventWithoutBucket_PostsHandlerErrorNamingTheSetting()
    {
        await using var bootstrap = BootstrapProcess.Start(_api.Endpoint, LocalModels());
        const string s3Event = """{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"incoming/iris/a.csv"}}}]}""";

        var error = await _api.InvokeAsync(s3Event).WaitAsync(Patience);

        Assert.Equal("error", error.Kind);
        Assert.Equal("InvalidOperationException", error.ErrorType);
        Assert.Equal("S3 events need the bucket: set INFERENCE_BUCKET", error.Json.GetProperty("errorMessage").GetString());
    }

    [Fact]
    public async Task MissingWarmupModel_PostsInitErrorAndExitsNonZero()
    {
        await using var bootstrap = BootstrapProcess.Start(_api.Endpoint, LocalModels(warmup: "nosuchmodel"));

        var initError = await _api.InitError.WaitAsync(Patience);
        var exitCode = await bootstrap.WaitForExitAsync(Patience);

        Assert.Equal(1, exitCode);
        Assert.Equal("application/vnd.aws.lambda.error+json", initError.ContentType);
        Assert.Equal("InferenceException", initError.ErrorType);
        Assert.Contains("nosuchmodel", initError.Json.GetProperty("errorMessage").GetString(), StringComparison.Ordinal);
        Assert.Empty(_api.AnswerStatuses);
    }

    [Fact]
    public async Task DeadlineAlreadyPassed_HandlerIsCancelledAndAnswers504()
    {
        await using var bootstrap = BootstrapProcess.Start(_api.Endpoint, LocalModels());
        // A first invocation makes sure initialisation is over before the deadline of the second is computed.
        await _api.InvokeAsync(HttpApiEvents.Create("GET", "/v2/health/live")).WaitAsync(Patience);

        var answer = await _api.InvokeAsync(HttpApiEvents.Infer(TestModels.IrisInferBody), deadline: DateTimeOffset.UtcNow.AddSeconds(-1)).WaitAsync(Patience);

        Assert.Equal("response", answer.Kind);
        Assert.Equal(504, answer.Json.GetProperty("statusCode").GetInt32());
        Assert.Contains("deadline", answer.Json.GetProperty("body").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(500)]
    [InlineData(403)]
    public async Task RuntimeApiRefusesNext_ProcessExitsNonZero(int status)
    {
        _api.NextStatus = status;
        await using var bootstrap = BootstrapProcess.Start(_api.Endpoint, LocalModels(warmup: null));

        var exitCode = await bootstrap.WaitForExitAsync(Patience);

        Assert.Equal(2, exitCode);
        Assert.Contains($"answered next with {status}", bootstrap.Output, StringComparison.Ordinal);
    }
}

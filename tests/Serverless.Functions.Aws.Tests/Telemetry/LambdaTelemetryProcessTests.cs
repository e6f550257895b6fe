namespace Serverless.Functions.Aws.Tests.Telemetry;

/// <summary>What the real bootstrap writes to stdout under the Lambda runtime: JSON log lines and EMF documents only.</summary>
public sealed class LambdaTelemetryProcessTests : IAsyncLifetime
{
    private const string InferTrace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
    private const string ErrorTrace = "Root=1-6759e988-0123456789abcdef01234567;Parent=1111222233334444;Sampled=0";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private RuntimeApiServer _api = null!;

    public async Task InitializeAsync() => _api = await RuntimeApiServer.StartAsync();

    public async Task DisposeAsync() => await _api.DisposeAsync();

    [Fact]
    public async Task Invocations_EmfFlushedBeforeTheNextEvent_LogLinesCarryRequestAndTraceIds()
    {
        var started = DateTimeOffset.UtcNow;
        await using var bootstrap = BootstrapProcess.Start(_api.Endpoint, new Dictionary<string, string>
        {
            ["INFERENCE_MODEL_DIR"] = TestModels.Repository,
            ["INFERENCE_WARMUP_MODELS"] = "iris",
        });

        var infer = await _api.InvokeAsync(HttpApiEvents.Infer(TestModels.IrisInferBody), traceId: InferTrace).WaitAsync(Patience);
        var error = await _api.InvokeAsync("""{"hello":"world"}""", traceId: ErrorTrace).WaitAsync(Patience);
        var lines = await LinesUntilAsync(bootstrap, line => IsEmfOf(line, error.RequestId));
        var finished = DateTimeOffset.UtcNow;

        Assert.Equal("response", infer.Kind);
        Assert.Equal("error", error.Kind);
        // Under the runtime, stdout holds structured lines only: nothing CloudWatch would have to parse as text.
        Assert.All(lines, line => Assert.Equal(JsonValueKind.Object, line.ValueKind));

        var documents = lines.Where(EmfSpecification.IsEmf).ToList();
        Assert.All(documents, document => EmfSpecification.AssertValid(document, started, finished));

        var requests = Assert.Single(documents, d => d.TryGetProperty("inference.requests", out _) && Text(d, "requestId") == infer.RequestId);
        Assert.Equal(1, requests.GetProperty("inference.requests").GetInt64());
        Assert.Equal("iris", Text(requests, "model.name"));
        Assert.Equal("200", Text(requests, "status"));
        Assert.Equal("inference", Text(requests, "FunctionName"));
        Assert.Equal("1-5759e988-bd862e3fe1be46a994272793", Text(requests, "traceId"));
        var directive = requests.GetProperty("_aws").GetProperty("CloudWatchMetrics")[0];
        Assert.Equal("Serverless/Inference", directive.GetProperty("Namespace").GetString());
        Assert.Equal(["FunctionName", "model.name", "model.version", "status"], directive.GetProperty("Dimensions")[0].EnumerateArray().Select(d => d.GetString()!).Order(StringComparer.Ordinal));
        Assert.Contains(directive.GetProperty("Metrics").EnumerateArray(), m => m.GetProperty("Name").GetString() == "inference.request.duration" && m.GetProperty("Unit").GetString() == "Seconds");

        // One request: its duration is exact, a value array of one.
        var duration = requests.GetProperty("inference.request.duration");
        Assert.Equal(1, duration.GetProperty("Count").GetInt64());
        var only = Assert.Single(duration.GetProperty("Values").EnumerateArray()).GetDouble();
        Assert.Equal(duration.GetProperty("Min").GetDouble(), only);
        Assert.Equal(duration.GetProperty("Max").GetDouble(), only);
        Assert.InRange(only, 0, 30);

        // .NET's own meter comes with each invocation: the process's memory and CPU.
        Assert.Contains(documents, d => Text(d, "requestId") == infer.RequestId && d.TryGetProperty("dotnet.process.memory.working_set", out var set) && set.GetDouble() > 0);
        Assert.Contains(documents, d => Text(d, "requestId") == infer.RequestId && d.TryGetProperty("dotnet.process.cpu.time", out _));

        var errorLog = Assert.Single(lines, line => !EmfSpecification.IsEmf(line) && Text(line, "requestId") == error.RequestId && Text(line, "level") == "ERROR");
        Assert.Equal("1-6759e988-0123456789abcdef01234567", Text(errorLog, "traceId"));
        Assert.Equal("Serverless.Functions.Aws.Runtime.LambdaBootstrap", Text(errorLog, "category"));
        Assert.Equal("UnknownEventException", Text(errorLog, "errorType"));
        Assert.StartsWith($"Invocation {error.RequestId} failed", Text(errorLog, "message"), StringComparison.Ordinal);
        Assert.True(DateTimeOffset.TryParse(Text(errorLog, "timestamp"), out var logged) && logged >= started.AddSeconds(-1) && logged <= finished);

        // The first invocation's metrics were written before the runtime took the second event.
        var lastOfFirst = lines.FindLastIndex(line => IsEmfOf(line, infer.RequestId));
        var firstOfSecond = lines.FindIndex(line => Text(line, "requestId") == error.RequestId);
        Assert.InRange(lastOfFirst, 0, firstOfSecond - 1);
        Assert.DoesNotContain(lines, line => !EmfSpecification.IsEmf(line) && Text(line, "requestId") == infer.RequestId && Text(line, "level") == "ERROR");
    }

    private static bool IsEmfOf(JsonElement line, string requestId) => EmfSpecification.IsEmf(line) && Text(line, "requestId") == requestId;

    private static string? Text(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static async Task<List<JsonElement>> LinesUntilAsync(BootstrapProcess bootstrap, Func<JsonElement, bool> last)
    {
        using var patience = new CancellationTokenSource(Patience);
        while (true)
        {
            var lines = bootstrap.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(line => line.StartsWith('{') ? JsonDocument.Parse(line).RootElement : JsonSerializer.SerializeToElement(line))
                .ToList();
            if (lines.Any(last))
            {
                return lines;
            }

            await Task.Delay(50, patience.Token);
        }
    }
}

using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text.Json;
using Serverless.Inference.Runtime;
using Serverless.Inference.Serving;
using Serverless.Inference.Telemetry;
using Serverless.Inference.Tests.Support;

namespace Serverless.Inference.Tests.Protocol;

/// <summary>
/// Triton's statistics extension (<c>GET /v2/models[/{m}[/versions/{v}]]/stats</c>, what tritonclient's
/// get_inference_statistics asks for) and the per-output prediction metrics, on the real iris model.
/// </summary>
public sealed class StatisticsTests : IDisposable
{
    private readonly TempModelRepository _repository = new TempModelRepository().CopySample("iris");
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<(string Instrument, double Value, Dictionary<string, object?> Tags)> _measurements = new();

    public StatisticsTests()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == InferenceTelemetry.Name && instrument.Name.StartsWith("inference.prediction", StringComparison.Ordinal))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.Start();
    }

    public void Dispose()
    {
        _listener.Dispose();
        _repository.Dispose();
    }

    [Fact]
    public async Task NothingAskedYet_AllModelsIsAnEmptyList_AndAKnownModelAnswersZeros()
    {
        using var harness = new OipHandlerHarness(_repository.Root);

        var all = await harness.GetAsync("/v2/models/stats");
        var iris = await harness.GetAsync("/v2/models/iris/stats");

        all.AssertOk();
        Assert.Equal(0, all.Json.GetProperty("model_stats").GetArrayLength());
        iris.AssertOk();
        var stats = Assert.Single(iris.Json.GetProperty("model_stats").EnumerateArray());
        Assert.Equal(("iris", "1", 0L, 0L, 0L), (Name(stats), Version(stats), stats.GetProperty("last_inference").GetInt64(), InferenceCount(stats), ExecutionCount(stats)));
        Assert.Equal(
            ["success", "fail", "queue", "compute_input", "compute_infer", "compute_output", "cache_hit", "cache_miss"],
            stats.GetProperty("inference_stats").EnumerateObject().Select(p => p.Name));
        Assert.All(stats.GetProperty("inference_stats").EnumerateObject(), p => Assert.Equal((0L, 0L), Duration(p.Value)));
        Assert.Equal(0, harness.Host.SessionsCreated);
    }

    [Fact]
    public async Task AfterRequests_CountsRowsRequestsFailuresAndExecutionsByBatchSize()
    {
        using var harness = new OipHandlerHarness(_repository.Root);
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        (await harness.InferAsync("iris", IrisRequest(1))).AssertOk();
        (await harness.InferAsync("iris", IrisRequest(1))).AssertOk();
        (await harness.InferAsync("iris", IrisRequest(4))).AssertOk();
        (await harness.InferAsync("iris", """{"inputs":[{"name":"Features","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}""")).AssertError(400);
        var reply = await harness.GetAsync("/v2/models/iris/versions/1/stats");

        reply.AssertOk();
        var stats = Assert.Single(reply.Json.GetProperty("model_stats").EnumerateArray());
        var inference = stats.GetProperty("inference_stats");
        Assert.Equal((6L, 3L), (InferenceCount(stats), ExecutionCount(stats)));
        Assert.Equal(3L, Duration(inference.GetProperty("success")).Count);
        Assert.Equal(1L, Duration(inference.GetProperty("fail")).Count);
        foreach (var phase in new[] { "queue", "compute_input", "compute_infer", "compute_output" })
        {
            Assert.Equal(3L, Duration(inference.GetProperty(phase)).Count);
        }

        Assert.True(Duration(inference.GetProperty("compute_infer")).Ns > 0);
        Assert.True(Duration(inference.GetProperty("success")).Ns >= Duration(inference.GetProperty("compute_infer")).Ns);
        Assert.Equal(
            [(1, 2L), (4, 1L)],
            stats.GetProperty("batch_stats").EnumerateArray().Select(b => (b.GetProperty("batch_size").GetInt32(), Duration(b.GetProperty("compute_infer")).Count)));
        Assert.InRange(stats.GetProperty("last_inference").GetInt64(), before, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

        var all = await harness.GetAsync("/v2/models/stats");
        Assert.Equal(["iris"], all.Json.GetProperty("model_stats").EnumerateArray().Select(Name));
    }

    [Fact]
    public async Task DynamicBatching_OneExecutionServesSeveralRequests()
    {
        _repository.CopySample("iris", "iris-batched", """{"max_batch_size": 64, "dynamic_batching": {"max_queue_delay_microseconds": 1000000, "preferred_batch_size": [4]}}""");
        using var harness = new OipHandlerHarness(_repository.Root);

        var replies = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => harness.InferAsync("iris-batched", IrisRequest(1))));
        var reply = await harness.GetAsync("/v2/models/iris-batched/stats");

        Assert.All(replies, r => r.AssertOk());
        var stats = Assert.Single(reply.Json.GetProperty("model_stats").EnumerateArray());
        Assert.Equal((4L, 1L), (InferenceCount(stats), ExecutionCount(stats)));
        Assert.Equal(4L, Duration(stats.GetProperty("inference_stats").GetProperty("success")).Count);
        var batch = Assert.Single(stats.GetProperty("batch_stats").EnumerateArray());
        Assert.Equal((4, 1L), (batch.GetProperty("batch_size").GetInt32(), Duration(batch.GetProperty("compute_infer")).Count));
    }

    [Theory]
    [InlineData("/v2/models/nosuch/stats", 404)]
    [InlineData("/v2/models/iris/versions/9/stats", 404)]
    [InlineData("/v2/models/..%2Fetc/stats", 400)]
    public async Task UnknownOrInvalid_IsAJsonError(string path, int status)
    {
        using var harness = new OipHandlerHarness(_repository.Root);

        (await harness.GetAsync(path)).AssertError(status);
    }

    [Fact]
    public async Task Post_Returns405()
    {
        using var harness = new OipHandlerHarness(_repository.Root);

        var reply = await harness.SendAsync("POST", "/v2/models/stats", "{}"u8.ToArray());

        reply.AssertError(405);
        Assert.Equal("GET", reply.Headers["Allow"]);
    }

    [Fact]
    public async Task PredictionMetrics_CountTheLabelAndTheScoreVectorsBestClass()
    {
        using var harness = new OipHandlerHarness(_repository.Root);

        // Two setosa rows (small petals) and one virginica row (large petals).
        var reply = await harness.InferAsync("iris", """{"inputs":[{"name":"Features","shape":[3,4],"datatype":"FP32","data":[5.1,3.5,1.4,0.2, 4.9,3.0,1.4,0.2, 7.7,3.0,6.1,2.3]}]}""");

        reply.AssertOk();
        var classes = _measurements.Where(m => m.Instrument == "inference.predictions" && (string?)m.Tags["model.name"] == "iris").ToList();
        Assert.Equal(
            [("PredictedLabel.output", "setosa", 2.0), ("PredictedLabel.output", "virginica", 1.0), ("Score.output", "0", 2.0), ("Score.output", "2", 1.0)],
            classes.GroupBy(m => ((string)m.Tags["output"]!, (string)m.Tags["class"]!))
                .Select(g => (g.Key.Item1, g.Key.Item2, g.Sum(m => m.Value)))
                .OrderBy(g => g.Item1, StringComparer.Ordinal).ThenBy(g => g.Item2, StringComparer.Ordinal));
        var scores = _measurements.Where(m => m.Instrument == "inference.prediction.score" && (string?)m.Tags["model.name"] == "iris").ToList();
        Assert.Equal(3, scores.Count);
        Assert.All(scores, m => Assert.InRange(m.Value, 0.5, 1.0));
    }

    [Fact]
    public void PredictionMetrics_ClassesBeyondTheCapCountAsOther()
    {
        var labels = Enumerable.Range(0, PredictionMetrics.MaxClassesPerOutput + 6).Select(i => System.Text.Encoding.UTF8.GetBytes($"label-{i}")).ToArray();
        using var outputs = new ModelOutputs([OutputTensor.FromStrings("label", [labels.Length], labels)]);

        PredictionMetrics.Record("free-text", "1", outputs, labels.Length);

        var classes = _measurements.Where(m => (string?)m.Tags["model.name"] == "free-text").Select(m => (string)m.Tags["class"]!).ToList();
        Assert.Equal(labels.Length, classes.Count);
        Assert.Equal(PredictionMetrics.MaxClassesPerOutput, classes.Distinct().Count(c => c != "other"));
        Assert.Equal(6, classes.Count(c => c == "other"));
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var copy = new Dictionary<string, object?>();
        foreach (var tag in tags)
        {
            copy[tag.Key] = tag.Value;
        }

        _measurements.Enqueue((instrument.Name, value, copy));
    }

    private static string IrisRequest(int rows)
    {
        var values = Enumerable.Range(0, rows * 4).Select(i => (4.3 + (i * 7 % 36) / 10.0).ToString("0.0", CultureInfo.InvariantCulture));
        return $$"""{"inputs":[{"name":"Features","shape":[{{rows}},4],"datatype":"FP32","data":[{{string.Join(',', values)}}]}]}""";
    }

    private static string? Name(JsonElement stats) => stats.GetProperty("name").GetString();

    private static string? Version(JsonElement stats) => stats.GetProperty("version").GetString();

    private static long InferenceCount(JsonElement stats) => stats.GetProperty("inference_count").GetInt64();

    private static long ExecutionCount(JsonElement stats) => stats.GetProperty("execution_count").GetInt64();

    private static (long Count, long Ns) Duration(JsonElement duration) => (duration.GetProperty("count").GetInt64(), duration.GetProperty("ns").GetInt64());
}

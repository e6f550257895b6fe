using System.Diagnostics.Metrics;
using Microsoft.Extensions.Time.Testing;
using OpenTelemetry.Metrics;
using Serverless.Functions.Aws.Telemetry;

namespace Serverless.Functions.Aws.Tests.Telemetry;

/// <summary>The exporter through the OpenTelemetry SDK, on a meter of the test's own.</summary>
public sealed class EmfMetricExporterTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly Meter _meter = new($"EmfTest.{Guid.NewGuid():N}");
    private readonly MemoryStream _stdout = new();
    private readonly BaseExportingMetricReader _reader;
    private readonly MeterProvider _provider;
    private readonly EmfMetricExporter _exporter;

    public EmfMetricExporterTests()
    {
        _exporter = new EmfMetricExporter(new LineOutput(_stdout), new EmfOptions("Test/Inference", "inference-http"), new FakeTimeProvider(Now));
        _reader = new BaseExportingMetricReader(_exporter) { TemporalityPreference = MetricReaderTemporalityPreference.Delta };
        _provider = LambdaTelemetry.BuildMeterProvider([_meter.Name], _reader);
    }

    public void Dispose()
    {
        _provider.Dispose();
        _meter.Dispose();
        _stdout.Dispose();
    }

    [Fact]
    public void Counter_TwoAttributeSets_OneDocumentEachWithDeltasPerCollection()
    {
        var counter = _meter.CreateCounter<long>("inference.requests", "{request}");
        counter.Add(3, new KeyValuePair<string, object?>("model.name", "iris"), new("status", 200));
        counter.Add(1, new KeyValuePair<string, object?>("model.name", "minilm"), new("status", 400));
        var first = Collect();
        counter.Add(2, new KeyValuePair<string, object?>("model.name", "iris"), new("status", 200));
        var second = Collect();

        Assert.Equal(2, first.Count);
        var iris = Assert.Single(first, d => d.GetProperty("model.name").GetString() == "iris");
        Assert.Equal(3, iris.GetProperty("inference.requests").GetInt64());
        Assert.Equal("200", iris.GetProperty("status").GetString());
        Assert.Equal("inference-http", iris.GetProperty("FunctionName").GetString());
        Assert.Equal(Now.ToUnixTimeMilliseconds(), iris.GetProperty("_aws").GetProperty("Timestamp").GetInt64());
        var directive = iris.GetProperty("_aws").GetProperty("CloudWatchMetrics")[0];
        Assert.Equal("Test/Inference", directive.GetProperty("Namespace").GetString());
        Assert.Equal(["FunctionName", "model.name", "status"], directive.GetProperty("Dimensions")[0].EnumerateArray().Select(d => d.GetString()!));
        Assert.Equal("Count", directive.GetProperty("Metrics")[0].GetProperty("Unit").GetString());
        Assert.Equal(1, Assert.Single(first, d => d.GetProperty("model.name").GetString() == "minilm").GetProperty("inference.requests").GetInt64());

        // Delta: the second document tells only what happened since the first; the untouched series is not repeated.
        var again = Assert.Single(second);
        Assert.Equal(2, again.GetProperty("inference.requests").GetInt64());
    }

    [Fact]
    public void ManyMetricsWithOneAttributeSet_SplitIntoDirectivesOfAtMost100()
    {
        for (var i = 0; i < 150; i++)
        {
            _meter.CreateCounter<long>($"test.metric.{i:D3}").Add(i + 1, new KeyValuePair<string, object?>("model.name", "iris"));
        }

        var documents = Collect();

        Assert.Equal([50, 100], documents.Select(d => d.GetProperty("_aws").GetProperty("CloudWatchMetrics")[0].GetProperty("Metrics").GetArrayLength()).Order());
        var names = documents.SelectMany(d => EmfSpecification.AssertValid(d, Now, Now)).ToList();
        Assert.Equal(150, names.Distinct().Count());
        Assert.Equal(150, documents.Single(d => d.TryGetProperty("test.metric.149", out _)).GetProperty("test.metric.149").GetInt64());
    }

    [Fact]
    public void Histogram_WideSpreadOfValues_ValueArrayOfAtMost100WithExactStatistics()
    {
        var histogram = _meter.CreateHistogram<double>("inference.request.duration", "s");
        var random = new Random(7);
        var recorded = Enumerable.Range(0, 10_000).Select(_ => Math.Pow(10, (random.NextDouble() * 8) - 4)).ToArray();
        foreach (var value in recorded)
        {
            histogram.Record(value);
        }

        var document = Assert.Single(Collect());
        EmfSpecification.AssertValid(document, Now, Now);
        var duration = document.GetProperty("inference.request.duration");
        var values = duration.GetProperty("Values").EnumerateArray().Select(v => v.GetDouble()).ToList();
        var counts = duration.GetProperty("Counts").EnumerateArray().Select(c => c.GetInt64()).ToList();

        Assert.InRange(values.Count, 50, 100);
        Assert.Equal(10_000, counts.Sum());
        Assert.Equal(10_000, duration.GetProperty("Count").GetInt64());
        Assert.Equal(recorded.Min(), duration.GetProperty("Min").GetDouble());
        Assert.Equal(recorded.Max(), duration.GetProperty("Max").GetDouble());
        Assert.Equal(recorded.Sum(), duration.GetProperty("Sum").GetDouble(), 6);
        Assert.Equal(values.Order(), values);
        Assert.All(values, v => Assert.InRange(v, recorded.Min(), recorded.Max()));

        // The median CloudWatch would compute from the array is within the merged buckets' width of the true one.
        var sorted = recorded.Order().ToArray();
        var trueMedian = sorted[sorted.Length / 2];
        var running = 0L;
        var arrayMedian = values.Zip(counts).First(pair => (running += pair.Second) >= 5_000).First;
        Assert.InRange(arrayMedian / trueMedian, 0.7, 1.45);
    }

    [Fact]
    public void Histogram_SingleRecording_IsExact()
    {
        _meter.CreateHistogram<double>("inference.model.load.duration", "s").Record(0.123456, new KeyValuePair<string, object?>("phase", "warmup"));

        var duration = Assert.Single(Collect()).GetProperty("inference.model.load.duration");

        Assert.Equal(0.123456, Assert.Single(duration.GetProperty("Values").EnumerateArray()).GetDouble());
        Assert.Equal(1, Assert.Single(duration.GetProperty("Counts").EnumerateArray()).GetInt64());
    }

    [Fact]
    public void Collect_InvocationSet_DocumentsCarryItsRequestAndTraceIds()
    {
        _meter.CreateCounter<long>("inference.batch.rows").Add(5);
        _exporter.Invocation = new InvocationProperties("8476a536-e9f4-11e8-9739-2dfe598c3fcd", "1-5759e988-bd862e3fe1be46a994272793");

        var document = Assert.Single(Collect());

        Assert.Equal("8476a536-e9f4-11e8-9739-2dfe598c3fcd", document.GetProperty("requestId").GetString());
        Assert.Equal("1-5759e988-bd862e3fe1be46a994272793", document.GetProperty("traceId").GetString());
        // Not dimensions: a dimension per request would make a metric per request.
        Assert.Equal(["FunctionName"], document.GetProperty("_aws").GetProperty("CloudWatchMetrics")[0].GetProperty("Dimensions")[0].EnumerateArray().Select(d => d.GetString()!));
    }

    private List<JsonElement> Collect()
    {
        _stdout.SetLength(0);
        Assert.True(_reader.Collect());
        return Encoding.UTF8.GetString(_stdout.ToArray())
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => JsonDocument.Parse(line).RootElement)
            .ToList();
    }
}

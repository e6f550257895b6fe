using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Serverless.Inference.Batch;
using Serverless.Inference.Monitoring;
using Serverless.Inference.Telemetry;
using Serverless.Inference.Tests.Batch.Support;
using Serverless.Inference.Tests.Hosting.Support;
using Serverless.Inference.Tests.Monitoring.Support;

namespace Serverless.Inference.Tests.Monitoring;

/// <summary>What the store or the traffic does to capture never reaches the request; the loss is counted and bounded.</summary>
[Collection(CaptureMetricsCollection.Name)]
public sealed class CaptureFailureTests
{
    private static readonly Dictionary<string, string> IrisAll = new() { ["iris"] = """{"sample_rate":1}""" };

    [Fact]
    public async Task Flush_StoreRefusesWrites_RequestsAnsweredAndTheDropCountedAndLogged()
    {
        using var records = new MetricCollector<long>(null, InferenceTelemetry.Name, "inference.capture.records");
        var logger = new CapturingLogger<PredictionCapture>();
        // A real local store over a folder that is not there: every write is refused with a BatchStoreException.
        var missing = Path.Combine(Path.GetTempPath(), "capture-missing-" + Guid.NewGuid().ToString("N"));
        await using var host = new CaptureTestHost(IrisAll, new LocalFolderBatchStore(missing), logger: logger);

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(200, await host.InferAsync("iris", Request(2)));
        }

        await host.Capture.FlushAsync();

        Assert.Equal(10, Sum(records, "dropped_store"));
        Assert.Equal(0, Sum(records, "written"));
        Assert.False(Directory.Exists(missing));
        var warning = Assert.Single(logger.Entries, e => e.Level == LogLevel.Warning);
        Assert.Contains("(10 records) was dropped", warning.Message, StringComparison.Ordinal);
        Assert.Contains("the drop folder does not exist", warning.Message, StringComparison.Ordinal);
        Assert.Equal(0, host.Capture.Buffer.HeldBytes);
    }

    [Fact]
    public async Task Add_StoreSlowerThanTraffic_RecordsDroppedAndCountedBufferNeverPastItsBound()
    {
        using var records = new MetricCollector<long>(null, InferenceTelemetry.Name, "inference.capture.records");
        var logger = new CapturingLogger<PredictionCapture>();
        using var gate = new SemaphoreSlim(0);
        var root = Path.Combine(Path.GetTempPath(), "capture-gated-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        var options = new CaptureOptions { BufferBytes = 256 << 10, ObjectBytes = 64 << 10, BackgroundFlush = false };
        await using var host = new CaptureTestHost(IrisAll, new GatedBatchStore(new LocalFolderBatchStore(root), gate), options, logger);
        const int Requests = 40;
        const int RowsPerRequest = 100;

        for (var i = 0; i < Requests; i++)
        {
            Assert.Equal(200, await host.InferAsync("iris", Request(RowsPerRequest)));
            Assert.True(host.Capture.Buffer.HeldBytes <= options.BufferBytes, $"{host.Capture.Buffer.HeldBytes} bytes held");
        }

        var dropped = Sum(records, "dropped_full");
        Assert.True(dropped > 0, "nothing was dropped: the traffic did not fill the buffer");
        Assert.Single(logger.Entries, e => e.Message.Contains("Capture buffer full", StringComparison.Ordinal));
        gate.Release(1000);
        await host.Capture.FlushAsync();

        var written = Directory.EnumerateFiles(root, "*.jsonl", SearchOption.AllDirectories).Sum(f => File.ReadLines(f).Count());
        Assert.Equal(Sum(records, "written"), written);
        Assert.Equal(Requests * RowsPerRequest, written + dropped);
        Assert.Equal(0, host.Capture.Buffer.HeldBytes);
        Directory.Delete(root, recursive: true);
    }

    private static long Sum(MetricCollector<long> collector, string outcome) =>
        collector.GetMeasurementSnapshot().Where(m => Equals(m.Tags["outcome"], outcome)).Sum(m => m.Value);

    private static string Request(int rows)
    {
        var data = string.Join(',', Enumerable.Range(0, rows).Select(i => IrisExpected.Json(i % IrisExpected.Count)));
        return $$"""{"inputs":[{"name":"Features","datatype":"FP32","shape":[{{rows}},4],"data":[{{data}}]}]}""";
    }
}

/// <summary>The tests that count capture outcomes on the process-wide meter run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class CaptureMetricsCollection
{
    public const string Name = "capture metrics";
}

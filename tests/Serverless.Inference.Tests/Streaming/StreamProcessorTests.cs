using System.Text.Json;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Serverless.Inference.Streaming;
using Serverless.Inference.Telemetry;
using Serverless.Inference.Tests.Batch.Support;
using Serverless.Inference.Tests.Streaming.Support;

namespace Serverless.Inference.Tests.Streaming;

public sealed class StreamProcessorTests(StreamModels models) : IClassFixture<StreamModels>, IDisposable
{
    private readonly TempDropFolder _folder = new();
    private readonly RecordingAlertSink _alerts = new();

    [Fact]
    public async Task ProcessAsync_IrisRecords_OnePredictionsObjectWithOneLinePerRecordInOrder()
    {
        var records = Records.Sequence("sensor-1", 7, IrisExpected.Json(0), $$"""{"Features":{{IrisExpected.Json(1)}}}""", IrisExpected.Json(2));

        var outcome = await Processor().ProcessAsync(new StreamBatch(StreamModels.Iris, null, "shardId-000000000001", records), CancellationToken.None);

        Assert.Equal(new StreamOutcome(3, 3, 0, 0, 0, null, null), outcome);
        var key = Assert.Single(Predictions.Objects(_folder, StreamModels.Iris));
        Assert.Equal("predictions/iris/2026/12/01/20/shardId-000000000001-7-9.jsonl", key);
        var lines = Predictions.Lines(_folder, StreamModels.Iris);
        Assert.Equal(["7", "8", "9"], lines.Select(l => l.GetProperty("position").GetString()));
        Assert.All(lines, l => Assert.Equal("sensor-1", l.GetProperty("key").GetString()));
        Assert.All(lines, l => Assert.Equal(("iris", "1"), (l.GetProperty("model").GetString(), l.GetProperty("version").GetString())));
        Assert.Equal(records[0].Timestamp, lines[0].GetProperty("timestamp").GetDateTimeOffset());
        for (var i = 0; i < 3; i++)
        {
            IrisExpected.AssertOutputs(i, lines[i].GetProperty("outputs"));
        }

        Assert.Equal(["key", "position", "timestamp", "model", "version", "outputs"], lines[0].EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task ProcessAsync_BadRecordsMidBatch_ArePerRecordErrorsAndTheRestIsScored()
    {
        List<StreamRecord> records =
        [
            Records.Of("a", 1, IrisExpected.Json(0)),
            Records.Of("a", 2, "{ not json"),
            new("a", "3", Records.Start, ReadOnlyMemory<byte>.Empty, "the record's data is not valid base64"),
            Records.Of("a", 4, "[1, 2]"),
            Records.Of("a", 5, "{\n  \"Features\": " + IrisExpected.Json(1) + "\n}"),
            Records.Of("a", 6, IrisExpected.Json(2)),
        ];

        var outcome = await Processor().ProcessAsync(new StreamBatch(StreamModels.Iris, "1", "s", records), CancellationToken.None);

        Assert.Equal(new StreamOutcome(6, 6, 3, 0, 0, null, null), outcome);
        var lines = Predictions.Lines(_folder, StreamModels.Iris);
        Assert.Equal(["1", "2", "3", "4", "5", "6"], lines.Select(l => l.GetProperty("position").GetString()));
        IrisExpected.AssertOutputs(0, lines[0].GetProperty("outputs"));
        Assert.StartsWith("not valid JSON", lines[1].GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal("the record's data is not valid base64", lines[2].GetProperty("error").GetString());
        Assert.Contains("has 2 data elements but its shape needs 4", lines[3].GetProperty("error").GetString(), StringComparison.Ordinal);
        IrisExpected.AssertOutputs(1, lines[4].GetProperty("outputs"));
        IrisExpected.AssertOutputs(2, lines[5].GetProperty("outputs"));
    }

    [Fact]
    public async Task ProcessAsync_SameBatchDeliveredTwice_WritesNothingNewAndSendsNoAlertTwice()
    {
        var batch = new StreamBatch(StreamModels.IrisAlerts, null, "s", Records.Sequence("a", 1, IrisExpected.Json(0), IrisExpected.Json(2), IrisExpected.Json(2)));
        var processor = Processor();

        var first = await processor.ProcessAsync(batch, CancellationToken.None);
        var written = Snapshot();
        var again = await Processor().ProcessAsync(batch, CancellationToken.None);

        Assert.Equal(new StreamOutcome(3, 3, 0, 0, 2, null, null), first);
        Assert.Equal(new StreamOutcome(3, 3, 0, 3, 0, null, null), again);
        Assert.Equal(written, Snapshot());
        Assert.Equal([(StreamModels.Setosa, "1"), (StreamModels.Virginica, "3")], _alerts.Sent.Select(a => (a.Rule, a.Position)));
    }

    [Fact]
    public async Task ProcessAsync_AlertSinkFailsAfterThePredictionsObject_RetrySendsTheSameAlertIdsOnce()
    {
        var batch = new StreamBatch(StreamModels.IrisAlerts, null, "s", Records.Sequence("a", 1, IrisExpected.Json(0), IrisExpected.Json(2), IrisExpected.Json(2)));
        var expected = await ExpectedAlertsAsync(batch);
        _alerts.FailNext(1);

        var failed = await Processor().ProcessAsync(batch, CancellationToken.None);
        var retried = await Processor().ProcessAsync(batch, CancellationToken.None);
        var again = await Processor().ProcessAsync(batch, CancellationToken.None);

        Assert.Equal(new StreamOutcome(3, 0, 0, 0, 0, 0, "the alert queue is unreachable"), failed);
        Assert.Single(Predictions.Objects(_folder, StreamModels.IrisAlerts));
        Assert.Equal(new StreamOutcome(3, 3, 0, 3, 2, null, null), retried);
        Assert.Equal(new StreamOutcome(3, 3, 0, 3, 0, null, null), again);
        Assert.Equal(expected, _alerts.Sent.Select(a => (a.Id, a.Rule, a.PartitionKey, a.Position)));
        var resent = _alerts.Sent.First();
        Assert.Equal(("iris-alerts", "1", batch.Records[0].Timestamp), (resent.Model, resent.ModelVersion, resent.Timestamp));
        IrisExpected.AssertOutputs(0, resent.Prediction);
    }

    [Fact]
    public async Task ProcessAsync_StoreFailsOnTheSecondRun_FirstUncommittedIsItsFirstRecordAndTheFirstRunIsCommitted()
    {
        var records = Records.Sequence("a", 1, IrisExpected.Json(0), IrisExpected.Json(1), IrisExpected.Json(2), IrisExpected.Json(2), IrisExpected.Json(0));
        var store = new FaultyBatchStore(_folder.Store) { FailCreate = key => key.EndsWith("-3-4.jsonl", StringComparison.Ordinal) };

        var failed = await Processor(store).ProcessAsync(new StreamBatch(StreamModels.IrisRuns, null, "s", records), CancellationToken.None);

        Assert.Equal(2, failed.FirstUncommitted);
        Assert.Equal((5, 2, 0), (failed.Records, failed.Committed, failed.Duplicates));
        Assert.Contains("-3-4.jsonl' could not be written", failed.Error, StringComparison.Ordinal);
        Assert.Equal(["1", "2"], Predictions.Lines(_folder, StreamModels.IrisRuns).Select(l => l.GetProperty("position").GetString()));

        // The source delivers again from the first record not committed.
        var retried = await Processor().ProcessAsync(new StreamBatch(StreamModels.IrisRuns, null, "s", records[2..]), CancellationToken.None);

        Assert.Equal(new StreamOutcome(3, 3, 0, 0, 1, null, null), retried);
        Assert.Equal(["1", "2", "3", "4", "5"], Predictions.Lines(_folder, StreamModels.IrisRuns).Select(l => l.GetProperty("position").GetString()));
        Assert.Equal(
            ["s-1-2.jsonl", "s-3-4.jsonl", "s-5-5.jsonl"],
            Predictions.Objects(_folder, StreamModels.IrisRuns).Select(Path.GetFileName));
        Assert.Equal([(StreamModels.Virginica, "4")], _alerts.Sent.Select(a => (a.Rule, a.Position)));
    }

    [Fact]
    public async Task ProcessAsync_ModelNotInTheStore_NothingIsCommitted()
    {
        var outcome = await Processor().ProcessAsync(new StreamBatch("no-such-model", null, "s", Records.Sequence("a", 1, "[1]")), CancellationToken.None);

        Assert.Equal((0, 0), (outcome.FirstUncommitted, outcome.Committed));
        Assert.Contains("no-such-model", outcome.Error, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_folder.Root));
    }

    [Fact]
    public async Task ProcessAsync_UnsafeSourcePositionsAndPartitionKey_AreHashedInTheKeys()
    {
        const string Source = "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.EventGrid/topics/sensors";
        List<StreamRecord> records =
        [
            new("../../etc/passwd", "../first", Records.Start, System.Text.Encoding.UTF8.GetBytes(IrisExpected.Json(2))),
            new("../../etc/passwd", "7f1c2a3e-0b4d-4e5f-8a9b-1c2d3e4f5a6b", Records.Start, System.Text.Encoding.UTF8.GetBytes(IrisExpected.Json(2))),
        ];

        var outcome = await Processor().ProcessAsync(new StreamBatch(StreamModels.IrisAlerts, null, Source, records), CancellationToken.None);

        Assert.Equal(new StreamOutcome(2, 2, 0, 0, 1, null, null), outcome);
        var name = Path.GetFileName(Assert.Single(Predictions.Objects(_folder, StreamModels.IrisAlerts)));
        Assert.Matches("^~[0-9a-f]{32}-~[0-9a-f]{32}-~[0-9a-f]{32}\\.jsonl$", name);
        var files = Directory.EnumerateFiles(_folder.Root, "*", SearchOption.AllDirectories).Select(path => Path.GetRelativePath(_folder.Root, path).Replace('\\', '/')).ToList();
        Assert.All(files, file => Assert.Matches("^(predictions|stream-state)/iris-alerts/", file));
        Assert.Contains(files, file => System.Text.RegularExpressions.Regex.IsMatch(file, "^stream-state/iris-alerts/[0-9a-f]{32}/000000000001\\.json$"));
        var line = Predictions.Lines(_folder, StreamModels.IrisAlerts)[0];
        Assert.Equal(("../../etc/passwd", "../first"), (line.GetProperty("key").GetString(), line.GetProperty("position").GetString()));
    }

    [Fact]
    public async Task ProcessAsync_Metrics_CountRecordsByOutcomeAndAlerts()
    {
        const string Model = "iris-metrics";
        models.CopyWithStreaming(StreamModels.Iris, Model, """{"alerts": [{"name": "setosa", "output": "Score.output", "index": 0, "above": 0.9}]}""");
        using var records = new MetricCollector<long>(null, InferenceTelemetry.Name, "inference.stream.records");
        using var alerts = new MetricCollector<long>(null, InferenceTelemetry.Name, "inference.stream.alerts");
        var batch = new StreamBatch(Model, null, "s", Records.Sequence("a", 1, IrisExpected.Json(0), "{bad", IrisExpected.Json(1)));

        await Processor().ProcessAsync(batch, CancellationToken.None);
        await Processor().ProcessAsync(batch, CancellationToken.None);

        long Sum(MetricCollector<long> collector, string tag, string value) => collector.GetMeasurementSnapshot()
            .Where(m => Equals(m.Tags["model.name"], Model) && Equals(m.Tags[tag], value))
            .Sum(m => m.Value);
        Assert.Equal((2, 1, 3, 0), (Sum(records, "outcome", "ok"), Sum(records, "outcome", "error"), Sum(records, "outcome", "duplicate"), Sum(records, "outcome", "uncommitted")));
        Assert.Equal(1, Sum(alerts, "rule", "setosa"));
    }

    public void Dispose() => _folder.Dispose();

    /// <summary>The alerts a batch raises, scored without storage: what any delivery of it must send.</summary>
    private async Task<List<(string Id, string Rule, string PartitionKey, string Position)>> ExpectedAlertsAsync(StreamBatch batch)
    {
        using var lease = await models.AcquireAsync(batch.Model);
        using var scorer = new StreamScorer(lease);
        var alerts = new List<(string, string, string, string)>();
        await foreach (var result in scorer.ScoreAsync(batch.Records, new StreamState(), CancellationToken.None))
        {
            alerts.AddRange(result.Alerts.Select(a => (a.Id, a.Rule, a.PartitionKey, a.Position)));
        }

        Assert.NotEmpty(alerts);
        return alerts;
    }

    private StreamProcessor Processor(Serverless.Inference.Batch.IBatchStore? store = null) =>
        new(models.Host, store ?? _folder.Store, _alerts, NullLogger<StreamProcessor>.Instance);

    /// <summary>Every file in the folder with its bytes.</summary>
    private Dictionary<string, string> Snapshot() =>
        Directory.EnumerateFiles(_folder.Root, "*", SearchOption.AllDirectories)
            .ToDictionary(path => Path.GetRelativePath(_folder.Root, path), path => Convert.ToBase64String(File.ReadAllBytes(path)));
}

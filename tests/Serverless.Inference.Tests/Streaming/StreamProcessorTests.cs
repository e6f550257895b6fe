using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Serverless.Inference.Streaming;
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

    public void Dispose() => _folder.Dispose();

    private StreamProcessor Processor(Serverless.Inference.Batch.IBatchStore? store = null) =>
        new(models.Host, store ?? _folder.Store, _alerts, NullLogger<StreamProcessor>.Instance);

    /// <summary>Every file in the folder with its bytes.</summary>
    private Dictionary<string, string> Snapshot() =>
        Directory.EnumerateFiles(_folder.Root, "*", SearchOption.AllDirectories)
            .ToDictionary(path => Path.GetRelativePath(_folder.Root, path), path => Convert.ToBase64String(File.ReadAllBytes(path)));
}

using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Serverless.Inference.Batch;
using Serverless.Inference.Streaming;
using Serverless.Inference.Tests.Batch.Support;
using Serverless.Inference.Tests.Streaming.Support;

namespace Serverless.Inference.Tests.Streaming;

public sealed class StreamStateTests(StreamModels models) : IClassFixture<StreamModels>, IDisposable
{
    private static readonly string Virginica = IrisExpected.Json(2);
    private static readonly string Setosa = IrisExpected.Json(0);
    private readonly TempDropFolder _folder = new();
    private readonly RecordingAlertSink _alerts = new();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ConsecutiveRule_MatchesAcrossTwoBatches_FiresOnTheSecondWhetherOrNotTheProcessorIsNew(bool newProcessor)
    {
        var first = Processor();
        var second = newProcessor ? Processor() : first;

        var one = await first.ProcessAsync(Batch("s", Records.Of("a", 1, Setosa), Records.Of("a", 2, Virginica)), CancellationToken.None);
        var two = await second.ProcessAsync(Batch("s", Records.Of("a", 3, Virginica), Records.Of("a", 4, Virginica)), CancellationToken.None);

        Assert.Equal(1, one.Alerts);
        Assert.Equal(1, two.Alerts);
        Assert.Equal([(StreamModels.Setosa, "1"), (StreamModels.Virginica, "3")], _alerts.Sent.Select(a => (a.Rule, a.Position)));
        var state = State("a");
        Assert.Equal("4", state.GetProperty("last_position").GetString());
        Assert.Equal(1, state.GetProperty("streaks").GetProperty(StreamModels.Virginica).GetInt32());
    }

    [Fact]
    public async Task ConsecutiveRule_InterleavedKeys_CountsEachKeyApart()
    {
        var outcome = await Processor().ProcessAsync(
            Batch("s", Records.Of("a", 1, Virginica), Records.Of("b", 2, Virginica), Records.Of("b", 3, Setosa), Records.Of("a", 4, Virginica), Records.Of("b", 5, Virginica)),
            CancellationToken.None);

        Assert.Equal(2, outcome.Alerts);
        Assert.Equal([(StreamModels.Setosa, "b", "3"), (StreamModels.Virginica, "a", "4")], _alerts.Sent.Select(a => (a.Rule, a.PartitionKey, a.Position)));
    }

    [Fact]
    public async Task OutOfOrderRecord_IsScoredAndFlaggedButFeedsNoStreak()
    {
        var outcome = await Processor().ProcessAsync(
            Batch("s", Records.Of("a", 5, Virginica), Records.Of("a", 3, Virginica), Records.Of("a", 5, Virginica), Records.Of("a", 6, Virginica)),
            CancellationToken.None);

        Assert.Equal(new StreamOutcome(4, 4, 0, 0, 1, null, null), outcome);
        var lines = Predictions.Lines(_folder, StreamModels.IrisAlerts);
        Assert.Equal([false, true, true, false], lines.Select(l => l.TryGetProperty("out_of_order", out var flag) && flag.GetBoolean()));
        IrisExpected.AssertOutputs(2, lines[1].GetProperty("outputs"));
        Assert.Equal([(StreamModels.Virginica, "6")], _alerts.Sent.Select(a => (a.Rule, a.Position)));
        Assert.Equal("6", State("a").GetProperty("last_position").GetString());
    }

    [Fact]
    public async Task OutOfOrder_PositionsThatAreNotNumbers_OrderByTimestampAndARepeatedIdIsLate()
    {
        StreamRecord Event(string id, int second) => new("a", id, Records.Start.AddSeconds(second), System.Text.Encoding.UTF8.GetBytes(Virginica));

        await Processor().ProcessAsync(Batch("s", Event("e-1", 10), Event("e-0", 9), Event("e-1", 10), Event("e-2", 10)), CancellationToken.None);

        var lines = Predictions.Lines(_folder, StreamModels.IrisAlerts);
        Assert.Equal([false, true, true, false], lines.Select(l => l.TryGetProperty("out_of_order", out var flag) && flag.GetBoolean()));
        Assert.Equal([(StreamModels.Virginica, "e-2")], _alerts.Sent.Select(a => (a.Rule, a.Position)));
    }

    [Fact]
    public async Task TwoProcessorsSaveOneKey_OneWinsAndTheOtherScoresAgainOnTheWinnersState()
    {
        var winner = Processor();
        var store = new FaultyBatchStore(_folder.Store);
        var raced = false;
        StreamOutcome? won = null;
        store.BeforeCreate = async key =>
        {
            if (!raced && key.StartsWith("stream-state/", StringComparison.Ordinal))
            {
                raced = true;
                won = await winner.ProcessAsync(Batch("s", Records.Of("k", 10, Setosa), Records.Of("k", 11, Virginica)), CancellationToken.None);
            }
        };

        // Scored on the state it first read (none), its first record would be the first virginica in a row: no alert.
        var lost = await Processor(store).ProcessAsync(Batch("t", Records.Of("k", 20, Virginica), Records.Of("k", 21, Setosa)), CancellationToken.None);

        Assert.Equal(new StreamOutcome(2, 2, 0, 0, 1, null, null), won);
        Assert.Equal(new StreamOutcome(2, 2, 0, 0, 2, null, null), lost);
        Assert.Equal(
            [(StreamModels.Setosa, "10"), (StreamModels.Virginica, "20"), (StreamModels.Setosa, "21")],
            _alerts.Sent.Select(a => (a.Rule, a.Position)));
        Assert.Equal(["000000000001.json", "000000000002.json"], Generations("k"));
        Assert.Equal(("21", "t-20-21.jsonl"), (State("k").GetProperty("last_position").GetString(), Path.GetFileName(State("k").GetProperty("run").GetString())));
    }

    [Fact]
    public async Task StateKeepsBeingSavedByOthers_AfterTheLastAttemptTheBatchIsUncommittedFromThatRun()
    {
        var other = Processor();
        var store = new FaultyBatchStore(_folder.Store);
        var position = 100;
        store.BeforeCreate = async key =>
        {
            if (key.StartsWith("stream-state/", StringComparison.Ordinal) && key.EndsWith(".json", StringComparison.Ordinal))
            {
                await other.ProcessAsync(Batch("o", Records.Of("k", position++, Setosa)), CancellationToken.None);
            }
        };
        var processor = new StreamProcessor(models.Host, store, _alerts, NullLogger<StreamProcessor>.Instance, options: new StreamProcessorOptions { MaxStateAttempts = 3 });

        var outcome = await processor.ProcessAsync(Batch("t", Records.Of("k", 200, Virginica)), CancellationToken.None);

        Assert.Equal((0, 0), (outcome.FirstUncommitted, outcome.Committed));
        Assert.Contains("3 attempts", outcome.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(Predictions.Objects(_folder, StreamModels.IrisAlerts), key => key.Contains("t-200", StringComparison.Ordinal));
        Assert.Equal("102", State("k").GetProperty("last_position").GetString());
    }

    [Fact]
    public async Task RetryAfterTheStateWasSavedButNotThePredictions_ScoresFromTheStateBeforeAndAlertsTheSame()
    {
        var store = new FaultyBatchStore(_folder.Store) { FailCreate = key => key.StartsWith("predictions/", StringComparison.Ordinal) };
        var batch = Batch("s", Records.Of("a", 1, Virginica), Records.Of("a", 2, Virginica));

        var failed = await Processor(store).ProcessAsync(batch, CancellationToken.None);
        var retried = await Processor().ProcessAsync(batch, CancellationToken.None);

        Assert.Equal(0, failed.FirstUncommitted);
        Assert.Equal(new StreamOutcome(2, 2, 0, 0, 1, null, null), retried);
        var lines = Predictions.Lines(_folder, StreamModels.IrisAlerts);
        Assert.All(lines, line => Assert.False(line.TryGetProperty("out_of_order", out _)));
        Assert.Equal([(StreamModels.Virginica, "2")], _alerts.Sent.Select(a => (a.Rule, a.Position)));
        Assert.Equal(["000000000001.json"], Generations("a"));
    }

    public void Dispose() => _folder.Dispose();

    private static StreamBatch Batch(string source, params StreamRecord[] records) => new(StreamModels.IrisAlerts, null, source, records);

    private StreamProcessor Processor(IBatchStore? store = null) =>
        new(models.Host, store ?? _folder.Store, _alerts, NullLogger<StreamProcessor>.Instance);

    private List<string> Generations(string partitionKey) =>
        [.. Directory.EnumerateFiles(_folder.PathOf(StreamKeys.KeyFolder(StreamModels.IrisAlerts, partitionKey))).Select(path => Path.GetFileName(path)).Order(StringComparer.Ordinal)];

    private JsonElement State(string partitionKey)
    {
        var newest = Generations(partitionKey)[^1];
        return JsonDocument.Parse(File.ReadAllBytes(_folder.PathOf(StreamKeys.KeyFolder(StreamModels.IrisAlerts, partitionKey) + newest))).RootElement;
    }
}

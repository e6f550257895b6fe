using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Serverless.Infer.Cli;
using Serverless.Inference.Batch;
using Serverless.Inference.Batch.Sharding;
using Serverless.Inference.Tests.Batch.Support;

namespace Serverless.Inference.Tests.Cli;

public sealed class DropFolderWatcherTests(BatchModels models) : IClassFixture<BatchModels>, IDisposable
{
    private readonly TempDropFolder _drop = new();
    private readonly FakeTimeProvider _time = new();

    public void Dispose() => _drop.Dispose();

    [Fact]
    public async Task ScanOnceAsync_NewFile_ProcessedOnTheSecondScanOnlyAndNeverAgain()
    {
        var key = _drop.Put("incoming/iris/day.csv", $"{IrisExpected.Header}\n{IrisExpected.Csv(1)}\n");
        using var watcher = Watcher();

        var first = await watcher.ScanOnceAsync(CancellationToken.None);
        Assert.Empty(first);
        Assert.Empty(_drop.Files(BatchKey.Outgoing));

        var second = await watcher.ScanOnceAsync(CancellationToken.None);
        var outcome = Assert.Single(second);
        Assert.Equal((BatchOutcomeKind.Scored, key), (outcome.Kind, outcome.Key));
        Assert.Equal(2, _drop.Files(BatchKey.Outgoing).Count);
        Assert.Equal(IrisExpected.Labels[1], CsvText.Parse(_drop.ReadText(outcome.ResultsKey!))[1][^2]);

        Assert.Empty(await watcher.ScanOnceAsync(CancellationToken.None));
        _time.Advance(TimeSpan.FromMinutes(5));
        Assert.Empty(await watcher.ScanOnceAsync(CancellationToken.None));
        Assert.Equal(2, _drop.Files(BatchKey.Outgoing).Count);
    }

    [Fact]
    public async Task ScanOnceAsync_FileStillChanging_WaitsUntilItIsUnchangedForAWholeScan()
    {
        var key = _drop.Put("incoming/iris/growing.jsonl", IrisExpected.Json(0) + "\n");
        using var watcher = Watcher();
        Assert.Empty(await watcher.ScanOnceAsync(CancellationToken.None));

        _drop.Put(key, IrisExpected.Json(0) + "\n" + IrisExpected.Json(1) + "\n");
        Assert.Empty(await watcher.ScanOnceAsync(CancellationToken.None));

        var outcome = Assert.Single(await watcher.ScanOnceAsync(CancellationToken.None));
        Assert.Equal(BatchOutcomeKind.Scored, outcome.Kind);
        Assert.Equal(2, outcome.Summary!.RowsIn);
    }

    [Fact]
    public async Task ScanOnceAsync_FileReplacedAfterScoring_ScoredAgainOnceSettled()
    {
        var key = _drop.Put("incoming/iris/again.jsonl", IrisExpected.Json(0) + "\n");
        using var watcher = Watcher();
        await watcher.ScanOnceAsync(CancellationToken.None);
        var first = Assert.Single(await watcher.ScanOnceAsync(CancellationToken.None));

        _drop.Put(key, IrisExpected.Json(2) + "\n" + IrisExpected.Json(2) + "\n");
        Assert.Empty(await watcher.ScanOnceAsync(CancellationToken.None));
        var second = Assert.Single(await watcher.ScanOnceAsync(CancellationToken.None));

        Assert.Equal(BatchOutcomeKind.Scored, second.Kind);
        Assert.NotEqual(first.ResultsKey, second.ResultsKey);
        Assert.Equal(4, _drop.Files(BatchKey.Outgoing).Count);
    }

    [Fact]
    public async Task ScanOnceAsync_FileThatWillRetry_RetriedOnlyAfterItsRetryTime()
    {
        var key = _drop.Put("incoming/iris/columns.csv", "a,b,c,d\n1,2,3,4\n");
        using var watcher = Watcher(maxAttempts: 3);
        Assert.Empty(await watcher.ScanOnceAsync(CancellationToken.None));

        var first = Assert.Single(await watcher.ScanOnceAsync(CancellationToken.None));
        Assert.Equal(BatchOutcomeKind.WillRetry, first.Kind);
        Assert.Empty(await watcher.ScanOnceAsync(CancellationToken.None));
        _time.Advance(TimeSpan.FromSeconds(4));
        Assert.Empty(await watcher.ScanOnceAsync(CancellationToken.None));

        _time.Advance(TimeSpan.FromSeconds(1));
        var second = Assert.Single(await watcher.ScanOnceAsync(CancellationToken.None));
        Assert.Equal(BatchOutcomeKind.WillRetry, second.Kind);
        Assert.True(_drop.Exists(key));
        Assert.Empty(await watcher.ScanOnceAsync(CancellationToken.None));

        _time.Advance(TimeSpan.FromSeconds(5));
        var third = Assert.Single(await watcher.ScanOnceAsync(CancellationToken.None));
        Assert.Equal(BatchOutcomeKind.Failed, third.Kind);
        Assert.StartsWith("the CSV header has no column(s)", third.Error, StringComparison.Ordinal);
        Assert.False(_drop.Exists(key));
        Assert.True(_drop.Exists("failed/iris/columns.csv"));

        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Empty(await watcher.ScanOnceAsync(CancellationToken.None));
        Assert.Empty(await watcher.ScanOnceAsync(CancellationToken.None));
    }

    [Fact]
    public async Task ScanOnceAsync_SeveralFiles_EachProcessedOnceAndNothingWrittenUnderIncoming()
    {
        _drop.Put("incoming/iris/a.csv", $"{IrisExpected.Header}\n{IrisExpected.Csv(0)}\n");
        _drop.Put("incoming/iris/1/b.jsonl", IrisExpected.Json(1) + "\n");
        _drop.Put("incoming/strings/c.jsonl", "[\"c\"]\n");
        var incoming = _drop.Files(BatchKey.Incoming);
        using var watcher = Watcher();

        await watcher.ScanOnceAsync(CancellationToken.None);
        var outcomes = await watcher.ScanOnceAsync(CancellationToken.None);

        Assert.Equal(3, outcomes.Count);
        Assert.All(outcomes, o => Assert.Equal(BatchOutcomeKind.Scored, o.Kind));
        Assert.Equal(incoming, _drop.Files(BatchKey.Incoming));
        Assert.Equal(6, _drop.Files(BatchKey.Outgoing).Count);
        Assert.Empty(await watcher.ScanOnceAsync(CancellationToken.None));
    }

    [Fact]
    public async Task ScanOnceAsync_BigFile_ShardedOverTheInProcessWorkersAndMergedIntoOneResult()
    {
        var rows = string.Concat(Enumerable.Range(0, 5000).Select(i => $"{IrisExpected.Csv(i % IrisExpected.Count)}\n"));
        var key = _drop.Put("incoming/iris/big.csv", $"{IrisExpected.Header}\n{rows}");
        var options = new BatchRunnerOptions { WorkDirectory = _drop.WorkDirectory, Sharding = new ShardingOptions { MinBytes = 0, RowsPerShard = 1024 } };
        var queue = new InProcessShardQueue(new BatchShardRunner(_drop.Store, models.Host, options, null, _time), workers: 2) { RetryDelay = TimeSpan.Zero };
        using var stop = new CancellationTokenSource();
        var workers = queue.RunAsync(stop.Token);
        using var watcher = new DropFolderWatcher(_drop.Store, new BatchJobRunner(_drop.Store, models.Host, options, null, _time, queue), _time, NullLogger<DropFolderWatcher>.Instance);

        await watcher.ScanOnceAsync(CancellationToken.None);
        var outcome = Assert.Single(await watcher.ScanOnceAsync(CancellationToken.None));
        await queue.WhenIdleAsync(CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(2));
        await stop.CancelAsync();
        await workers;

        Assert.Equal((BatchOutcomeKind.Sharded, key), (outcome.Kind, outcome.Key));
        Assert.Equal([outcome.ResultsKey!, outcome.ResultsKey![..^".results.csv".Length] + ".summary.json"], _drop.Files(BatchKey.Outgoing));
        var records = CsvText.Parse(_drop.ReadText(outcome.ResultsKey));
        Assert.Equal(5001, records.Count);
        Assert.Equal(Enumerable.Range(0, 5000).Select(i => IrisExpected.Labels[i % IrisExpected.Count]), records.Skip(1).Select(r => r[^2]));

        // Looked at again a minute later: scored, and then left alone.
        Assert.Empty(await watcher.ScanOnceAsync(CancellationToken.None));
        _time.Advance(DropFolderWatcher.ShardedRecheck);
        Assert.Equal(BatchOutcomeKind.AlreadyScored, Assert.Single(await watcher.ScanOnceAsync(CancellationToken.None)).Kind);
        _time.Advance(DropFolderWatcher.ShardedRecheck);
        Assert.Empty(await watcher.ScanOnceAsync(CancellationToken.None));
    }

    private DropFolderWatcher Watcher(int maxAttempts = 3) =>
        new(
            _drop.Store,
            new BatchJobRunner(_drop.Store, models.Host, new BatchRunnerOptions { MaxAttempts = maxAttempts, WorkDirectory = _drop.WorkDirectory }, null, _time),
            _time,
            NullLogger<DropFolderWatcher>.Instance);
}

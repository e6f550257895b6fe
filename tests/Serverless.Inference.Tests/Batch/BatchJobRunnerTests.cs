using System.Text;
using System.Text.Json;
using System.Globalization;
using Microsoft.Extensions.Time.Testing;
using Serverless.Inference.Batch;
using Serverless.Inference.Tests.Batch.Support;

namespace Serverless.Inference.Tests.Batch;

public sealed class BatchJobRunnerTests(BatchModels models) : IClassFixture<BatchModels>, IDisposable
{
    private readonly TempDropFolder _drop = new();

    public void Dispose() => _drop.Dispose();

    [Fact]
    public async Task ProcessAsync_NewCsv_PublishesResultsAndSummaryUnderOutgoing()
    {
        var content = Encoding.UTF8.GetBytes($"id,{IrisExpected.Header}\n" +
            string.Concat(Enumerable.Range(0, 3).Select(i => $"{i},{IrisExpected.Csv(i)}\n")) + "3,1,2,3\n");
        var key = _drop.Put("incoming/iris/flowers.csv", content);
        var incoming = _drop.Snapshot();
        using var lease = await models.AcquireAsync(BatchModels.Iris);
        var run = BatchKey.Short(TempDropFolder.Identity(content) + "\n" + lease.Identity);
        var resultsKey = $"outgoing/iris/flowers.csv.{run}.results.csv";
        var summaryKey = $"outgoing/iris/flowers.csv.{run}.summary.json";

        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-28T12:00:00Z", CultureInfo.InvariantCulture));
        var runner = new BatchJobRunner(new ClockedBatchStore(_drop.Store, time, TimeSpan.FromSeconds(2)), models.Host, new BatchRunnerOptions { WorkDirectory = _drop.WorkDirectory }, null, time);

        var outcome = await runner.ProcessAsync(key, CancellationToken.None);

        Assert.Equal(BatchOutcomeKind.Scored, outcome.Kind);
        Assert.Equal((key, resultsKey, (string?)null), (outcome.Key, outcome.ResultsKey, outcome.Error));
        Assert.Equal([resultsKey, summaryKey], _drop.Files(BatchKey.Outgoing));
        Assert.Empty(_drop.Files(BatchKey.Failed));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_drop.WorkDirectory));
        AssertUnchanged(incoming, BatchKey.Incoming);

        var records = CsvText.Parse(_drop.ReadText(resultsKey));
        Assert.Equal(["id", .. IrisExpected.Header.Split(','), "Score.output[0]", "Score.output[1]", "Score.output[2]", "PredictedLabel.output", "error"], records[0]);
        Assert.Equal([.. IrisExpected.Labels, ""], records.Skip(1).Select(r => r[^2]));
        Assert.Equal(["", "", "", "line 5: the row has 4 fields but the header has 5"], records.Skip(1).Select(r => r[^1]));

        using var summary = JsonDocument.Parse(_drop.Read(summaryKey));
        var json = summary.RootElement;
        Assert.Equal("iris", json.GetProperty("model").GetString());
        Assert.Equal("1", json.GetProperty("model_version").GetString());
        Assert.Equal(lease.Identity, json.GetProperty("model_identity").GetString());
        Assert.Equal(key, json.GetProperty("input").GetString());
        Assert.Equal(TempDropFolder.Identity(content), json.GetProperty("input_identity").GetString());
        Assert.Equal("csv", json.GetProperty("format").GetString());
        Assert.Equal(resultsKey, json.GetProperty("output").GetString());
        Assert.Equal(4, json.GetProperty("rows_in").GetInt64());
        Assert.Equal(3, json.GetProperty("rows_ok").GetInt64());
        Assert.Equal(1, json.GetProperty("rows_failed").GetInt64());
        Assert.Equal(1024, json.GetProperty("micro_batch_size").GetInt32());
        // The clock moved 2 s while the input was read, and not while the model ran.
        Assert.Equal(DateTimeOffset.Parse("2026-11-28T12:00:00Z", CultureInfo.InvariantCulture), json.GetProperty("started_at").GetDateTimeOffset());
        Assert.Equal(2.0, json.GetProperty("duration_s").GetDouble());
        Assert.Equal(0.0, json.GetProperty("model_s").GetDouble());
        Assert.Equal(2.0, json.GetProperty("rows_per_s").GetDouble());

        Assert.NotNull(outcome.Summary);
        Assert.Equal((4L, 3L, 1L, resultsKey), (outcome.Summary.RowsIn, outcome.Summary.RowsOk, outcome.Summary.RowsFailed, outcome.Summary.Output));
    }

    [Fact]
    public async Task ProcessAsync_VersionedJsonlKey_PublishesUnderTheVersion()
    {
        var key = _drop.Put("incoming/iris/1/flowers.ndjson", IrisExpected.Json(2) + "\n");

        var outcome = await Runner().ProcessAsync(key, CancellationToken.None);

        Assert.Equal(BatchOutcomeKind.Scored, outcome.Kind);
        Assert.StartsWith("outgoing/iris/1/flowers.ndjson.", outcome.ResultsKey, StringComparison.Ordinal);
        Assert.EndsWith(".results.jsonl", outcome.ResultsKey, StringComparison.Ordinal);
        using var line = JsonDocument.Parse(_drop.ReadText(outcome.ResultsKey!));
        IrisExpected.AssertOutputs(2, line.RootElement.GetProperty("outputs"));
        Assert.Equal(2, _drop.Files("outgoing/iris/1").Count);
    }

    [Fact]
    public async Task ProcessAsync_SameKeyTwice_SecondIsAlreadyScoredAndPublishesNothing()
    {
        var key = _drop.Put("incoming/iris/twice.jsonl", IrisExpected.Json(0) + "\n");
        var runner = Runner();
        var first = await runner.ProcessAsync(key, CancellationToken.None);
        var published = _drop.Snapshot();

        var second = await runner.ProcessAsync(key, CancellationToken.None);

        Assert.Equal(BatchOutcomeKind.Scored, first.Kind);
        Assert.Equal(BatchOutcomeKind.AlreadyScored, second.Kind);
        Assert.Equal(first.ResultsKey, second.ResultsKey);
        Assert.Null(second.Summary);
        Assert.Equal(published, _drop.Snapshot());
        Assert.Equal(2, _drop.Files(BatchKey.Outgoing).Count);
    }

    [Fact]
    public async Task ProcessAsync_EightConcurrentCallsOnOneKey_ExactlyOneScoresAndOneResultIsPublished()
    {
        var content = string.Concat(Enumerable.Range(0, 300).Select(i => IrisExpected.Json(i % 3) + "\n"));
        var key = _drop.Put("incoming/iris/race.jsonl", content);
        var runner = Runner();
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var calls = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            await go.Task;
            return await runner.ProcessAsync(key, CancellationToken.None);
        })).ToArray();
        go.SetResult();
        var outcomes = await Task.WhenAll(calls);

        Assert.Single(outcomes, o => o.Kind == BatchOutcomeKind.Scored);
        Assert.Equal(7, outcomes.Count(o => o.Kind == BatchOutcomeKind.AlreadyScored));
        Assert.Single(outcomes.Select(o => o.ResultsKey).Distinct());
        var files = _drop.Files(BatchKey.Outgoing);
        Assert.Equal(2, files.Count);
        Assert.Single(files, f => f.EndsWith(".results.jsonl", StringComparison.Ordinal));
        Assert.Single(files, f => f.EndsWith(".summary.json", StringComparison.Ordinal));
        Assert.Equal(300, _drop.ReadText(outcomes[0].ResultsKey!).Count(c => c == '\n'));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_drop.WorkDirectory));
        Assert.Equal([key], _drop.Files(BatchKey.Incoming));
    }

    [Fact]
    public async Task ProcessAsync_ContentChanged_ScoredAgainUnderANewResultsKey()
    {
        var key = _drop.Put("incoming/iris/changing.jsonl", IrisExpected.Json(0) + "\n");
        var runner = Runner();
        var first = await runner.ProcessAsync(key, CancellationToken.None);
        var firstResults = _drop.ReadText(first.ResultsKey!);

        _drop.Put(key, IrisExpected.Json(1) + "\n" + IrisExpected.Json(2) + "\n");
        var second = await runner.ProcessAsync(key, CancellationToken.None);

        Assert.Equal(BatchOutcomeKind.Scored, second.Kind);
        Assert.NotEqual(first.ResultsKey, second.ResultsKey);
        Assert.Equal(4, _drop.Files(BatchKey.Outgoing).Count);
        Assert.Equal(firstResults, _drop.ReadText(first.ResultsKey!));
        Assert.Equal(2, second.Summary!.RowsIn);
        var lines = _drop.ReadText(second.ResultsKey!).TrimEnd('\n').Split('\n');
        using var last = JsonDocument.Parse(lines[1]);
        IrisExpected.AssertOutputs(2, last.RootElement.GetProperty("outputs"));
    }

    [Fact]
    public async Task ProcessAsync_UnknownModel_MovesTheInputToFailedAtOnceWithAnErrorDocument()
    {
        var content = Encoding.UTF8.GetBytes("a,b\n1,2\n");
        var key = _drop.Put("incoming/nomodel/data.csv", content);
        var runner = Runner(maxAttempts: 3);

        var outcome = await runner.ProcessAsync(key, CancellationToken.None);

        Assert.Equal((BatchOutcomeKind.Failed, "unknown model 'nomodel'"), (outcome.Kind, outcome.Error));
        Assert.False(_drop.Exists(key));
        Assert.Empty(_drop.Files(BatchKey.Outgoing));
        Assert.Equal(content, _drop.Read("failed/nomodel/data.csv"));

        using var error = JsonDocument.Parse(_drop.Read("failed/nomodel/data.csv.error.json"));
        var json = error.RootElement;
        Assert.Equal(key, json.GetProperty("input").GetString());
        Assert.Equal(TempDropFolder.Identity(content), json.GetProperty("input_identity").GetString());
        Assert.Equal("unknown model 'nomodel'", json.GetProperty("error").GetString());
        Assert.Equal(1, json.GetProperty("attempts").GetInt32());
        Assert.Equal("failed/nomodel/data.csv", json.GetProperty("moved_to").GetString());

        var afterwards = await runner.ProcessAsync(key, CancellationToken.None);
        Assert.Equal(BatchOutcomeKind.AlreadyScored, afterwards.Kind);
        Assert.Equal("the input no longer exists (already moved or deleted)", afterwards.Error);
    }

    [Fact]
    public async Task ProcessAsync_RetryableFailure_CountsAttemptsThenMovesToFailed()
    {
        var content = Encoding.UTF8.GetBytes("a,b,c,d\n1,2,3,4\n");
        var key = _drop.Put("incoming/iris/columns.csv", content);
        var attemptsKey = $"failed/iris/columns.csv.{BatchKey.Short(TempDropFolder.Identity(content))}.attempts";
        var runner = Runner(maxAttempts: 3);

        var first = await runner.ProcessAsync(key, CancellationToken.None);
        Assert.Equal("1", _drop.ReadText(attemptsKey));
        var second = await runner.ProcessAsync(key, CancellationToken.None);
        Assert.Equal("2", _drop.ReadText(attemptsKey));
        Assert.Equal(content, _drop.Read(key));
        var third = await runner.ProcessAsync(key, CancellationToken.None);

        Assert.Equal([BatchOutcomeKind.WillRetry, BatchOutcomeKind.WillRetry, BatchOutcomeKind.Failed], new[] { first.Kind, second.Kind, third.Kind });
        Assert.False(_drop.Exists(key));
        Assert.Equal(content, _drop.Read("failed/iris/columns.csv"));
        using var error = JsonDocument.Parse(_drop.Read("failed/iris/columns.csv.error.json"));
        Assert.Equal(3, error.RootElement.GetProperty("attempts").GetInt32());
        Assert.Equal("0", _drop.ReadText(attemptsKey));
    }

    [Fact]
    public async Task ProcessAsync_SameNameFailsTwice_EachCopyKeepsItsOwnErrorDocumentAndTheCountRestarts()
    {
        var content = Encoding.UTF8.GetBytes("a,b\n1,2\n");
        var attemptsKey = $"failed/nomodel/data.csv.{BatchKey.Short(TempDropFolder.Identity(content))}.attempts";
        var runner = Runner(maxAttempts: 1);

        var first = await runner.ProcessAsync(_drop.Put("incoming/nomodel/data.csv", content), CancellationToken.None);
        Assert.Equal("0", _drop.ReadText(attemptsKey));
        var second = await runner.ProcessAsync(_drop.Put("incoming/nomodel/data.csv", content), CancellationToken.None);

        Assert.Equal((BatchOutcomeKind.Failed, BatchOutcomeKind.Failed), (first.Kind, second.Kind));
        var copies = _drop.Files(BatchKey.Failed).Where(f => !f.EndsWith(".error.json", StringComparison.Ordinal) && !f.EndsWith(".attempts", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, copies.Count);
        Assert.All(copies, copy =>
        {
            Assert.Equal(content, _drop.Read(copy));
            Assert.True(_drop.Exists(copy + ".error.json"), $"{copy} has no error document");
        });
    }

    [Fact]
    public async Task ProcessAsync_UnknownExtension_MovedToFailedAtOnce()
    {
        var key = _drop.Put("incoming/iris/data.txt", IrisExpected.Csv(0));
        var runner = Runner(maxAttempts: 3);

        var outcome = await runner.ProcessAsync(key, CancellationToken.None);

        Assert.Equal(BatchOutcomeKind.Failed, outcome.Kind);
        Assert.Equal("'data.txt' is neither .csv nor .jsonl/.ndjson/.json", outcome.Error);
        Assert.Equal(IrisExpected.Csv(0), _drop.ReadText("failed/iris/data.txt"));
        Assert.True(_drop.Exists("failed/iris/data.txt.error.json"));
        Assert.Empty(_drop.Files(BatchKey.Incoming));
        Assert.Empty(_drop.Files(BatchKey.Outgoing));
    }

    [Fact]
    public async Task ProcessAsync_CsvWithWrongColumns_IsAFileFailureAndPublishesNothing()
    {
        var key = _drop.Put("incoming/iris/columns.csv", "a,b,c,d\n1,2,3,4\n");

        var outcome = await Runner().ProcessAsync(key, CancellationToken.None);

        Assert.Equal(BatchOutcomeKind.WillRetry, outcome.Kind);
        Assert.StartsWith("the CSV header has no column(s) 'sepal_length', 'sepal_width', 'petal_length', 'petal_width'", outcome.Error, StringComparison.Ordinal);
        Assert.Empty(_drop.Files(BatchKey.Outgoing));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_drop.WorkDirectory));
        Assert.Equal([key], _drop.Files(BatchKey.Incoming));
    }

    [Theory]
    [InlineData("incoming/../x.csv", "'incoming/../x.csv' is refused: the key has a '.' or '..' segment")]
    [InlineData("incoming/iris/..", "'incoming/iris/..' is refused: the key has a '.' or '..' segment")]
    [InlineData("incoming//x.csv", "'incoming//x.csv' is refused: the key has an empty segment")]
    [InlineData("/incoming/iris/x.csv", "'/incoming/iris/x.csv' is refused: the key has an empty segment")]
    [InlineData("incoming\\iris\\x.csv", "'incoming\\iris\\x.csv' is refused: the key contains a backslash")]
    [InlineData("incoming/iris/x\ty.csv", "'incoming/iris/x?y.csv' is refused: the key contains a control character")]
    [InlineData("outgoing/iris/x.csv", "'outgoing/iris/x.csv' is not incoming/<model>[/<version>]/<file>")]
    [InlineData("", "'' is refused: the key is empty")]
    public async Task ProcessAsync_KeyTheFolderCannotHoldOrNotAnInput_RefusedWithoutTouchingTheFileSystem(string key, string problem)
    {
        _drop.Put("x.csv", IrisExpected.Csv(0));
        _drop.Put("incoming/x.csv", IrisExpected.Csv(0));
        _drop.Put("outgoing/iris/x.csv", IrisExpected.Csv(0));
        var before = _drop.Snapshot();

        var outcome = await Runner(maxAttempts: 1).ProcessAsync(key, CancellationToken.None);

        Assert.Equal(BatchOutcomeKind.Failed, outcome.Kind);
        Assert.Equal(key, outcome.Key);
        Assert.StartsWith(problem, outcome.Error, StringComparison.Ordinal);
        Assert.Equal(before, _drop.Snapshot());
    }

    [Theory]
    [InlineData("incoming/x.csv")]
    [InlineData("incoming/.hidden/x.csv")]
    [InlineData("incoming/iris/%2e%2e/x.csv")]
    [InlineData("incoming/iris/1/extra/x.csv")]
    public async Task ProcessAsync_KeyOutsideTheLayout_MovedUnderFailedRefusedWithTheReason(string key)
    {
        _drop.Put(key, IrisExpected.Csv(0));

        var outcome = await Runner().ProcessAsync(key, CancellationToken.None);

        Assert.Equal(BatchOutcomeKind.Failed, outcome.Kind);
        Assert.Empty(_drop.Files(BatchKey.Incoming));
        var refused = BatchKey.RefusedKey(key);
        Assert.Equal([refused, refused + ".error.json"], _drop.Files(BatchKey.Failed));
        using var document = JsonDocument.Parse(_drop.Read(refused + ".error.json"));
        Assert.Equal(key, document.RootElement.GetProperty("input").GetString());
        Assert.Equal(outcome.Error, document.RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task ProcessAsync_AttachmentUnderIncoming_IgnoredAndLeftInPlace()
    {
        var key = _drop.Put("incoming/_attachments/cat.png", [1, 2, 3]);
        var before = _drop.Snapshot();

        var outcome = await Runner().ProcessAsync(key, CancellationToken.None);

        Assert.Equal(BatchOutcomeKind.Ignored, outcome.Kind);
        Assert.Equal(before, _drop.Snapshot());
    }

    [Fact]
    public async Task ProcessAsync_DeadlinePassesMidFile_CountedAsAnAttempt()
    {
        var content = string.Concat(Enumerable.Repeat(IrisExpected.Json(0) + "\n", 5000));
        var key = _drop.Put("incoming/iris/big.jsonl", content);
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-28T12:00:00Z", CultureInfo.InvariantCulture));
        var options = new BatchRunnerOptions { WorkDirectory = _drop.WorkDirectory, DeadlineReserve = TimeSpan.FromSeconds(5) };
        // Reading the file takes 60 s of a 30 s invocation.
        var runner = new BatchJobRunner(new ClockedBatchStore(_drop.Store, time, TimeSpan.FromSeconds(60)), models.Host, options, null, time);

        var outcome = await runner.ProcessAsync(key, time.GetUtcNow() + TimeSpan.FromSeconds(30), CancellationToken.None);

        Assert.Equal(BatchOutcomeKind.WillRetry, outcome.Kind);
        Assert.StartsWith("stopped at the invocation's deadline after 60 s", outcome.Error, StringComparison.Ordinal);
        Assert.Equal("1", _drop.ReadText($"failed/iris/big.jsonl.{BatchKey.Short(TempDropFolder.Identity(Encoding.UTF8.GetBytes(content)))}.attempts"));
        Assert.Empty(_drop.Files(BatchKey.Outgoing));
    }

    [Fact]
    public async Task ProcessAsync_DeadlineAlreadyWithinTheReserve_NotStartedAndNotCounted()
    {
        var key = _drop.Put("incoming/iris/late.jsonl", IrisExpected.Json(0) + "\n");
        var time = new FakeTimeProvider();
        var runner = new BatchJobRunner(_drop.Store, models.Host, new BatchRunnerOptions { WorkDirectory = _drop.WorkDirectory }, null, time);

        var outcome = await runner.ProcessAsync(key, time.GetUtcNow() + TimeSpan.FromSeconds(3), CancellationToken.None);

        Assert.Equal(BatchOutcomeKind.WillRetry, outcome.Kind);
        Assert.Empty(_drop.Files(BatchKey.Failed));
        Assert.Empty(_drop.Files(BatchKey.Outgoing));
    }

    [Fact]
    public async Task ProcessAsync_FileReplacedWhileRead_NothingPublishedUnderTheOldIdentity()
    {
        var original = IrisExpected.Json(0) + "\n";
        var key = _drop.Put("incoming/iris/swap.jsonl", original);
        var store = new Serverless.Batch.Contract.StoreHooks(_drop.Store)
        {
            BeforeIncomingRead = () =>
            {
                _drop.Put(key, IrisExpected.Json(1) + "\n" + IrisExpected.Json(2) + "\n");
                return Task.CompletedTask;
            },
        };

        var outcome = await new BatchJobRunner(store, models.Host, new BatchRunnerOptions { WorkDirectory = _drop.WorkDirectory }).ProcessAsync(key, CancellationToken.None);

        Assert.Equal(BatchOutcomeKind.WillRetry, outcome.Kind);
        Assert.Empty(_drop.Files(BatchKey.Outgoing));
    }

    [Theory]
    [InlineData("incoming/iris/empty.csv", "")]
    [InlineData("incoming/iris/empty.jsonl", "")]
    [InlineData("incoming/iris/header.csv", IrisExpected.Header + "\n")]
    public async Task ProcessAsync_FileWithoutRows_ScoredWithZeroRows(string key, string content)
    {
        _drop.Put(key, content);

        var outcome = await Runner().ProcessAsync(key, CancellationToken.None);

        Assert.Equal(BatchOutcomeKind.Scored, outcome.Kind);
        Assert.Equal((0L, 0L, 0L), (outcome.Summary!.RowsIn, outcome.Summary.RowsOk, outcome.Summary.RowsFailed));
        Assert.True(_drop.Exists(outcome.ResultsKey!));
        Assert.Equal(content.Length == 0 ? "" : IrisExpected.Header + ",Score.output[0],Score.output[1],Score.output[2],PredictedLabel.output,error\n", _drop.ReadText(outcome.ResultsKey!));
        using var summary = JsonDocument.Parse(_drop.Read(Assert.Single(_drop.Files(BatchKey.Outgoing), f => f.EndsWith(".summary.json", StringComparison.Ordinal))));
        Assert.Equal(0, summary.RootElement.GetProperty("rows_in").GetInt64());
        Assert.Equal([key], _drop.Files(BatchKey.Incoming));
    }

    [Fact]
    public async Task ProcessAsync_CancelledMidFile_ThrowsAndLeavesNoResultsNorAttempts()
    {
        var row = "[" + string.Join(',', Enumerable.Repeat("1.5", BatchModels.SlowWidth)) + "]\n";
        var key = _drop.Put("incoming/slow/rows.jsonl", string.Concat(Enumerable.Repeat(row, 400)));
        var incoming = _drop.Snapshot();
        using var cancel = new CancellationTokenSource();
        var store = new CancellingBatchStore(_drop.Store, cancel, afterBytes: 100_000);
        var runner = new BatchJobRunner(store, models.Host, new BatchRunnerOptions { WorkDirectory = _drop.WorkDirectory });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => runner.ProcessAsync(key, cancel.Token));

        Assert.True(cancel.IsCancellationRequested);
        Assert.Empty(_drop.Files(BatchKey.Outgoing));
        Assert.Empty(_drop.Files(BatchKey.Failed));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_drop.WorkDirectory));
        Assert.Equal(incoming, _drop.Snapshot());

        // Nothing was recorded against the file: an uncancelled run scores it in full.
        var outcome = await Runner().ProcessAsync(key, CancellationToken.None);
        Assert.Equal(BatchOutcomeKind.Scored, outcome.Kind);
        Assert.Equal((400L, 400L), (outcome.Summary!.RowsIn, outcome.Summary.RowsOk));
    }

    [Fact]
    public async Task ProcessAsync_InputThatNeverExisted_ReportsItGoneAndWritesNothing()
    {
        var before = _drop.Snapshot();

        var outcome = await Runner().ProcessAsync("incoming/iris/missing.csv", CancellationToken.None);

        Assert.Equal(BatchOutcomeKind.AlreadyScored, outcome.Kind);
        Assert.Equal("the input no longer exists (already moved or deleted)", outcome.Error);
        Assert.Equal(before, _drop.Snapshot());
    }

    private BatchJobRunner Runner(int maxAttempts = 3) =>
        new(_drop.Store, models.Host, new BatchRunnerOptions { MaxAttempts = maxAttempts, WorkDirectory = _drop.WorkDirectory });

    private void AssertUnchanged(IReadOnlyDictionary<string, string> before, string folder)
    {
        var prefix = folder + "/";
        Assert.Equal(
            before.Where(p => p.Key.StartsWith(prefix, StringComparison.Ordinal)),
            _drop.Snapshot().Where(p => p.Key.StartsWith(prefix, StringComparison.Ordinal)));
    }
}

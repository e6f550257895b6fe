using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Serverless.Infer.Cli;
using Serverless.Inference.Batch;
using Serverless.Inference.Tests.Batch.Support;

namespace Serverless.Inference.Tests.Hostile;

/// <summary>
/// Batch files and stores that misbehave: a string JSON cannot turn into text, a store that throws what nobody
/// expected. A row's problem stays the row's; anything else counts as an attempt and ends in failed/; nothing stops
/// the drop-folder watcher.
/// </summary>
public sealed class HostileBatchFileTests(BatchModels models) : IClassFixture<BatchModels>, IDisposable
{
    private readonly TempDropFolder _drop = new();
    private readonly FakeTimeProvider _time = new();

    public void Dispose() => _drop.Dispose();

    [Theory]
    [InlineData("""{"id":"\ud800","inputs":[{"name":"Features","datatype":"FP32","shape":[1,4],"data":[5.1,3.5,1.4,0.2]}]}""", "'id' is not valid text")]
    [InlineData("""{"inputs":[{"name":"Features\udc00","datatype":"FP32","shape":[1,4],"data":[5.1,3.5,1.4,0.2]}]}""", "an input's 'name' is not valid text")]
    [InlineData("""{"inputs":[{"name":"Features","datatype":"FP32","shape":[1,4],"data":[5.1,3.5,1.4,0.2]}],"outputs":[{"name":"\ud800"}]}""", "an output's 'name' is not valid text")]
    [InlineData("""{"inputs":[{"name":"Features","datatype":"FP32","shape":[1,4],"data":[5.1,3.5,1.4,0.2]}],"parameters":{"\ud800":true}}""", "a parameter name of the request is not valid text")]
    public async Task ProcessAsync_LoneSurrogateInARequestLine_IsThatRowsErrorAndTheNextRowIsScored(string line, string error)
    {
        var key = _drop.Put("incoming/iris/surrogate.jsonl", line + "\n" + IrisExpected.Json(1) + "\n");

        var outcome = await Runner().ProcessAsync(key, CancellationToken.None);

        Assert.Equal(BatchOutcomeKind.Scored, outcome.Kind);
        var rows = _drop.ReadText(outcome.ResultsKey!).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(r => JsonDocument.Parse(r).RootElement).ToList();
        Assert.Contains(error, rows[0].GetProperty("error").GetString(), StringComparison.Ordinal);
        IrisExpected.AssertOutputs(1, rows[1].GetProperty("outputs"));
        Assert.Equal((2L, 1L, 1L), (outcome.Summary!.RowsIn, outcome.Summary.RowsOk, outcome.Summary.RowsFailed));
    }

    [Theory]
    [InlineData("""{"Features\ud800":[5.1,3.5,1.4,0.2]}""")]
    [InlineData("""{"\udfff":1,"Features":[5.1,3.5,1.4,0.2]}""")]
    [InlineData("""["\ud800",3.5,1.4,0.2]""")]
    public async Task ProcessAsync_LoneSurrogateInARecordLine_NeverFailsTheFile(string line)
    {
        var key = _drop.Put("incoming/iris/record.jsonl", line + "\n" + IrisExpected.Json(2) + "\n");

        var outcome = await Runner().ProcessAsync(key, CancellationToken.None);

        Assert.Equal(BatchOutcomeKind.Scored, outcome.Kind);
        var rows = _drop.ReadText(outcome.ResultsKey!).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(r => JsonDocument.Parse(r).RootElement).ToList();
        Assert.Equal(2, rows.Count);
        IrisExpected.AssertOutputs(2, rows[1].GetProperty("outputs"));
    }

    [Fact]
    public async Task ProcessAsync_LoneSurrogateInATextForAStringModel_IsARowError()
    {
        var key = _drop.Put("incoming/strings/texts.jsonl", "[\"ok\"]\n[\"bad \\ud800\"]\n");

        var outcome = await Runner().ProcessAsync(key, CancellationToken.None);

        Assert.Equal(BatchOutcomeKind.Scored, outcome.Kind);
        Assert.Equal((2L, 1L, 1L), (outcome.Summary!.RowsIn, outcome.Summary.RowsOk, outcome.Summary.RowsFailed));
    }

    [Fact]
    public async Task ScanOnceAsync_TwoLineJsonlWithALoneSurrogate_WatcherScoresItAndKeepsGoing()
    {
        _drop.Put("incoming/iris/attack.jsonl", """{"id":"\ud800","inputs":[]}""" + "\n" + IrisExpected.Json(0) + "\n");
        _drop.Put("incoming/iris/next.jsonl", IrisExpected.Json(1) + "\n");
        using var watcher = Watcher(Runner());

        await watcher.ScanOnceAsync(CancellationToken.None);
        var outcomes = await watcher.ScanOnceAsync(CancellationToken.None);

        Assert.Equal([BatchOutcomeKind.Scored, BatchOutcomeKind.Scored], outcomes.Select(o => o.Kind));
    }

    [Fact]
    public async Task ProcessAsync_StoreThrowsSomethingUnforeseenOnRead_CountsAttemptsThenMovesToFailed()
    {
        var key = _drop.Put("incoming/iris/unlucky.jsonl", IrisExpected.Json(0) + "\n");
        // The three scoring reads fail; the read that moves the file to failed/ works.
        var reads = 0;
        var runner = Runner(new ThrowingBatchStore(_drop.Store, onRead: () => ++reads <= 3 ? new NotSupportedException("the disk said no") : null));

        var outcomes = new[]
        {
            await runner.ProcessAsync(key, CancellationToken.None),
            await runner.ProcessAsync(key, CancellationToken.None),
            await runner.ProcessAsync(key, CancellationToken.None),
        };

        Assert.Equal([BatchOutcomeKind.WillRetry, BatchOutcomeKind.WillRetry, BatchOutcomeKind.Failed], outcomes.Select(o => o.Kind));
        Assert.Equal("unexpected NotSupportedException: the disk said no", outcomes[2].Error);
        Assert.False(_drop.Exists(key));
        Assert.True(_drop.Exists("failed/iris/unlucky.jsonl"));
        using var document = JsonDocument.Parse(_drop.Read("failed/iris/unlucky.jsonl.error.json"));
        Assert.Equal("unexpected NotSupportedException: the disk said no", document.RootElement.GetProperty("error").GetString());
        Assert.Equal(3, document.RootElement.GetProperty("attempts").GetInt32());
    }

    [Fact]
    public async Task ScanOnceAsync_RunnerThrowsForOneFile_WatcherReportsARetryAndScoresTheOthers()
    {
        _drop.Put("incoming/iris/a.jsonl", IrisExpected.Json(0) + "\n");
        _drop.Put("incoming/iris/b.jsonl", IrisExpected.Json(1) + "\n");
        // Stat fails for a.jsonl: not even an attempt can be counted, so the runner itself throws.
        var store = new ThrowingBatchStore(_drop.Store, onStat: key => key.EndsWith("a.jsonl", StringComparison.Ordinal) ? new InvalidOperationException("boom") : null);
        using var watcher = Watcher(Runner(store));

        await watcher.ScanOnceAsync(CancellationToken.None);
        var outcomes = await watcher.ScanOnceAsync(CancellationToken.None);

        Assert.Equal(
            [("incoming/iris/a.jsonl", BatchOutcomeKind.WillRetry), ("incoming/iris/b.jsonl", BatchOutcomeKind.Scored)],
            outcomes.Select(o => (o.Key, o.Kind)).Order());
        Assert.Equal("boom", outcomes.Single(o => o.Kind == BatchOutcomeKind.WillRetry).Error);
    }

    private BatchJobRunner Runner(IBatchStore? store = null) =>
        new(store ?? _drop.Store, models.Host, new BatchRunnerOptions { MaxAttempts = 3, WorkDirectory = _drop.WorkDirectory });

    private DropFolderWatcher Watcher(BatchJobRunner runner) => new(_drop.Store, runner, _time, NullLogger<DropFolderWatcher>.Instance);

    private sealed class ThrowingBatchStore(IBatchStore inner, Func<Exception?>? onRead = null, Func<string, Exception?>? onStat = null) : IBatchStore
    {
        public string Description => inner.Description;

        public Task<BatchObject?> StatAsync(string key, CancellationToken cancellationToken) =>
            onStat?.Invoke(key) is { } error ? throw error : inner.StatAsync(key, cancellationToken);

        public Task<Stream> OpenReadAsync(BatchObject pinned, long offset, long? length, CancellationToken cancellationToken) =>
            pinned.Key.StartsWith(BatchKey.Incoming + "/", StringComparison.Ordinal) && onRead?.Invoke() is { } error ? throw error : inner.OpenReadAsync(pinned, offset, length, cancellationToken);

        public Task<bool> CreateAsync(string key, Stream content, CancellationToken cancellationToken) => inner.CreateAsync(key, content, cancellationToken);

        public Task<bool> ComposeAsync(string key, IReadOnlyList<BatchObject> parts, CancellationToken cancellationToken) => inner.ComposeAsync(key, parts, cancellationToken);

        public Task WriteAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) => inner.WriteAsync(key, content, cancellationToken);

        public Task<bool> DeleteAsync(BatchObject pinned, CancellationToken cancellationToken) => inner.DeleteAsync(pinned, cancellationToken);

        public IAsyncEnumerable<BatchObject> ListAsync(string prefix, CancellationToken cancellationToken) => inner.ListAsync(prefix, cancellationToken);
    }
}

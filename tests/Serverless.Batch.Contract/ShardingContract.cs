using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Serverless.Inference.Batch;
using Serverless.Inference.Batch.Sharding;
using Serverless.Inference.Hosting;
using Serverless.Inference.Repository;

namespace Serverless.Batch.Contract;

/// <summary>
/// Big files fanned out over a queue, against each store: planned on record boundaries, each shard scored into a
/// create-only part by whichever worker takes it, merged once, and the same result an unsharded run publishes. The
/// queue here records the messages, so each test delivers them as a platform would: in any order, twice, at once,
/// after a crash. Each test works on files of its own name.
/// </summary>
public abstract class ShardingContract : IDisposable
{
    /// <summary>The iris sample's max_batch_size: a shard holds whole micro-batches, so 1,024 rows.</summary>
    protected const int RowsPerShard = 1024;

    private readonly string _work = Directory.CreateTempSubdirectory("sharding-work-").FullName;
    private ModelHost? _host;

    /// <summary>A file name of this test alone.</summary>
    protected string F { get; } = "t" + Guid.NewGuid().ToString("N")[..10];

    protected abstract IBatchStore Store { get; }

    /// <summary>Creates or replaces an object behind the store's back, as another writer would.</summary>
    protected abstract Task PutBehindAsync(string key, byte[] content);

    /// <summary>The length of the over-long JSON line put at a shard boundary (a row error either way, skipped as it streams).</summary>
    protected virtual int HugeLineBytes => 8 << 20;

    protected ModelHost Host => _host ??= new ModelHost(new LocalFolderModelStore(Path.Combine(AppContext.BaseDirectory, "models")), new ModelHostOptions { DefaultIntraOpThreads = 1 });

    protected FakeTimeProvider Time { get; } = new(DateTimeOffset.UtcNow);

    protected RecordingShardQueue Queue { get; } = new();

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            _host?.Dispose();
            Directory.Delete(_work, recursive: true);
        }
    }

    [Fact]
    public async Task Csv_ShardedWithQuotedNewlinesAcrossBoundaries_SameBytesAsOneInvocationAndCleanedUp()
    {
        var csv = IrisCsv(2500, quotedNewlineEvery: 511, badRowEvery: 333);
        var (sharded, single) = await ScoreBothWaysAsync("csv", csv);

        Assert.Equal(single.Results, sharded.Results);
        Assert.Equal((2500L, single.RowsFailed, 3), (sharded.RowsIn, sharded.RowsFailed, sharded.Shards));
        Assert.True(single.RowsFailed > 0);
        Assert.Empty(await ListAsync(RunFolder(sharded.ResultsKey)));
    }

    [Fact]
    public async Task Jsonl_OverLongLineAtAShardBoundary_SameBytesAsOneInvocation()
    {
        var lines = new StringBuilder();
        for (var i = 0; i < 2200; i++)
        {
            lines.Append(i == RowsPerShard - 1 ? "[" + new string('1', HugeLineBytes) + "]" : Row(i)).Append('\n');
        }

        var (sharded, single) = await ScoreBothWaysAsync("jsonl", Encoding.UTF8.GetBytes(lines.ToString()));

        Assert.Equal(single.Results, sharded.Results);
        Assert.Equal((2200L, 1L, 3), (sharded.RowsIn, sharded.RowsFailed, sharded.Shards));
        Assert.Contains($"{{\"line\":{RowsPerShard},\"error\":\"record is longer than", Encoding.UTF8.GetString(sharded.Results), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Plan_WrittenCreateOnlyBesideTheRunWithProgress()
    {
        var key = await PutAsync("csv", IrisCsv(2500));

        var outcome = await Runner().ProcessAsync(key, default);

        Assert.Equal(BatchOutcomeKind.Sharded, outcome.Kind);
        Assert.Equal(3, Queue.Messages.Count);
        var folder = RunFolder(outcome.ResultsKey!);
        Assert.Equal([folder + "plan.json", folder + "progress.json"], await ListAsync(folder));
        using var progress = JsonDocument.Parse(await ReadAsync(folder + "progress.json"));
        Assert.Equal((0, 3, 0L, 2500L), (progress.RootElement.GetProperty("shards_done").GetInt32(), progress.RootElement.GetProperty("shards_total").GetInt32(), progress.RootElement.GetProperty("rows_done").GetInt64(), progress.RootElement.GetProperty("rows_total").GetInt64()));
    }

    [Fact]
    public async Task SameShardDeliveredTwice_OnePartAndTheSecondAcknowledged()
    {
        var key = await PutAsync("csv", IrisCsv(2500));
        await Runner().ProcessAsync(key, default);

        var first = await Shards().ProcessAsync(Queue.Messages[0], null, default);
        var again = await Shards().ProcessAsync(Queue.Messages[0], null, default);

        Assert.Equal((ShardOutcomeKind.Scored, ShardOutcomeKind.AlreadyDone), (first.Kind, again.Kind));
        Assert.Single(await PartsAsync());
    }

    [Fact]
    public async Task SameShardToTwoWorkersAtOnce_OnePart()
    {
        var key = await PutAsync("csv", IrisCsv(2500));
        await Runner().ProcessAsync(key, default);
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var workers = Enumerable.Range(0, 2).Select(_ => Task.Run(async () =>
        {
            await go.Task;
            return await Shards().ProcessAsync(Queue.Messages[1], null, default);
        })).ToArray();
        go.SetResult();
        var outcomes = await Task.WhenAll(workers);

        Assert.All(outcomes, o => Assert.NotEqual(ShardOutcomeKind.WillRetry, o.Kind));
        Assert.Single(await PartsAsync());
    }

    [Fact]
    public async Task LastTwoShardsFinishingTogether_OneMergeOneResult()
    {
        var csv = IrisCsv(4000);
        var (_, single) = await ScoreBothWaysAsync("csv", csv, deliver: false);
        var messages = Queue.Messages;
        Assert.Equal(4, messages.Count);
        foreach (var message in messages.Take(2))
        {
            Assert.Null((await Shards().ProcessAsync(message, null, default)).Merged);
        }

        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var last = messages.Skip(2).Select(message => Task.Run(async () =>
        {
            await go.Task;
            return await Shards().ProcessAsync(message, null, default);
        })).ToArray();
        go.SetResult();
        var outcomes = await Task.WhenAll(last);

        var merged = Assert.Single(outcomes, o => o.Merged is not null);
        Assert.Equal(single.Results, await ReadAsync(merged.Merged!));
        Assert.Empty(await ListAsync(RunFolder(merged.Merged!)));
    }

    [Fact]
    public async Task InputReplacedWhileShardsRun_TheRunFailsClearlyAndNothingMixedIsPublished()
    {
        var key = await PutAsync("csv", IrisCsv(2500));
        var planned = await Runner().ProcessAsync(key, default);
        Assert.Equal(ShardOutcomeKind.Scored, (await Shards().ProcessAsync(Queue.Messages[0], null, default)).Kind);

        await PutBehindAsync(key, IrisCsv(2600));
        var second = await Shards().ProcessAsync(Queue.Messages[1], null, default);
        var third = await Shards().ProcessAsync(Queue.Messages[2], null, default);

        Assert.Equal(ShardOutcomeKind.JobFailed, second.Kind);
        Assert.StartsWith("the input changed while its shards were scored", second.Error, StringComparison.Ordinal);
        Assert.Equal(ShardOutcomeKind.AlreadyDone, third.Kind);
        Assert.Null(await Store.StatAsync(planned.ResultsKey!, default));
        Assert.Equal([RunFolder(planned.ResultsKey!) + "failed.json"], await ListAsync(RunFolder(planned.ResultsKey!)));
        // The new content is the file now: it stays, for its own run.
        Assert.Equal(IrisCsv(2600), await ReadAsync(key));
    }

    [Fact]
    public async Task PoisonShard_FileSetAsideNamingTheShardAndOtherFilesUnaffected()
    {
        var poisoned = await PutAsync("csv", IrisCsv(2500));
        var healthy = await PutAsync("csv", IrisCsv(2500), "healthy");
        var store = new ShardFailingStore(Store, poisoned, shardOffset: null);
        var runner = Runner(store);
        await runner.ProcessAsync(poisoned, default);
        var poisonMessages = Queue.Messages.ToList();
        await runner.ProcessAsync(healthy, default);
        var healthyMessages = Queue.Messages.Skip(poisonMessages.Count).ToList();
        store.FailOffset = (await PlanAsync(poisonMessages[1])).Shards[1].Offset;

        var outcomes = new List<ShardOutcome>();
        for (var attempt = 0; attempt < 3; attempt++)
        {
            outcomes.Add(await Shards(store).ProcessAsync(poisonMessages[1], null, default));
        }

        foreach (var message in healthyMessages)
        {
            await Shards(store).ProcessAsync(message, null, default);
        }

        Assert.Equal([ShardOutcomeKind.WillRetry, ShardOutcomeKind.WillRetry, ShardOutcomeKind.JobFailed], outcomes.Select(o => o.Kind));
        Assert.Null(await Store.StatAsync(poisoned, default));
        var failed = $"failed/iris/{F}.csv";
        Assert.NotNull(await Store.StatAsync(failed, default));
        using var document = JsonDocument.Parse(await ReadAsync(failed + ".error.json"));
        Assert.StartsWith("shard 1 of 3 (lines from 1026) failed 3 time(s): ", document.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(ShardOutcomeKind.AlreadyDone, (await Shards(store).ProcessAsync(poisonMessages[2], null, default)).Kind);
        Assert.Single(await ListAsync($"outgoing/iris/healthy{F}.csv."), k => k.EndsWith(".results.csv", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("not json", "the message is not JSON")]
    [InlineData("""{"plan":"incoming/iris/x.csv","shard":0}""", "is not a plan key")]
    [InlineData("""{"plan":"outgoing/iris/../x.csv.abc/plan.json","shard":0}""", "is not a plan key")]
    [InlineData("""{"plan":"outgoing/iris/nobody.csv.abc/plan.json","shard":0}""", "no job: 'outgoing/iris/nobody.csv.abc/plan.json' does not exist")]
    [InlineData("""{"plan":"outgoing/iris/x.csv.abc/plan.json","shard":-1}""", "shard -1 is negative")]
    [InlineData("""{"shard":0}""", "the message has no 'plan'")]
    public async Task MalformedOrUnknown_DeadLetterWithTheReason(string body, string reason)
    {
        var outcome = await Shards().ProcessAsync(body, null, default);

        Assert.Equal(ShardOutcomeKind.DeadLetter, outcome.Kind);
        Assert.Contains(reason, outcome.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ShardNumberBeyondThePlanAndLateDeliveryAfterTheMerge_DeadLetterThenAcknowledged()
    {
        var key = await PutAsync("csv", IrisCsv(2500));
        await Runner().ProcessAsync(key, default);
        var plan = ShardMessage.Parse(Queue.Messages[0]).Plan;

        var beyond = await Shards().ProcessAsync(new ShardMessage(plan, 7).ToJson(), null, default);
        foreach (var message in Queue.Messages)
        {
            await Shards().ProcessAsync(message, null, default);
        }

        var late = await Shards().ProcessAsync(Queue.Messages[1], null, default);

        Assert.Equal((ShardOutcomeKind.DeadLetter, "the plan '" + plan + "' has 3 shards; there is no shard 7"), (beyond.Kind, beyond.Error));
        Assert.Equal(ShardOutcomeKind.AlreadyDone, late.Kind);
    }

    [Fact]
    public async Task WorkerKilledMidShard_NoPartThenTheRedeliveryScoresItOnce()
    {
        var key = await PutAsync("csv", IrisCsv(2500));
        await Runner().ProcessAsync(key, default);
        using var shutdown = new CancellationTokenSource();
        var killing = new ShardFailingStore(Store, key, shardOffset: null) { OnRead = shutdown.Cancel };

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Shards(killing).ProcessAsync(Queue.Messages[0], null, shutdown.Token));
        Assert.Empty(await PartsAsync());

        Assert.Equal(ShardOutcomeKind.Scored, (await Shards().ProcessAsync(Queue.Messages[0], null, default)).Kind);
        Assert.Single(await PartsAsync());
    }

    [Fact]
    public async Task MergerDiedAfterItsClaim_TheClaimIsTakenOverOnceStale()
    {
        var csv = IrisCsv(2500);
        var (_, single) = await ScoreBothWaysAsync("csv", csv, deliver: false);
        var folder = RunFolder(ShardMessage.Parse(Queue.Messages[0]).Plan);
        await PutBehindAsync(folder + "merge.claim", "a merger that died"u8.ToArray());
        foreach (var message in Queue.Messages)
        {
            Assert.Null((await Shards().ProcessAsync(message, null, default)).Merged);
        }

        Time.Advance(TimeSpan.FromMinutes(16));
        var retried = await Shards().ProcessAsync(Queue.Messages[2], null, default);

        Assert.Equal(ShardOutcomeKind.AlreadyDone, retried.Kind);
        Assert.NotNull(retried.Merged);
        Assert.Equal(single.Results, await ReadAsync(retried.Merged!));
    }

    [Fact]
    public async Task DeliveredAgain_WhileTheRunIsAliveNothingIsSentAndOnceStalledOnlyTheMissingShards()
    {
        var key = await PutAsync("csv", IrisCsv(2500));
        var runner = Runner();
        await runner.ProcessAsync(key, default);
        await Shards().ProcessAsync(Queue.Messages[1], null, default);

        var alive = await runner.ProcessAsync(key, default);
        Assert.Equal((BatchOutcomeKind.Sharded, 3), (alive.Kind, Queue.Messages.Count));

        Time.Advance(TimeSpan.FromMinutes(16));
        var stalled = await runner.ProcessAsync(key, default);

        Assert.Equal(BatchOutcomeKind.Sharded, stalled.Kind);
        Assert.Equal([0, 2], Queue.Messages.Skip(3).Select(m => ShardMessage.Parse(m).Shard));
    }

    protected BatchJobRunner Runner(IBatchStore? store = null, IShardQueue? queue = null) =>
        new(store ?? Store, Host, Options(), null, Time, queue ?? Queue);

    protected BatchShardRunner Shards(IBatchStore? store = null) => new(store ?? Store, Host, Options(), null, Time);

    private BatchRunnerOptions Options() => new()
    {
        WorkDirectory = _work,
        MaxAttempts = 3,
        Sharding = new ShardingOptions { MinBytes = 0, RowsPerShard = RowsPerShard },
    };

    /// <summary>The same bytes scored twice: under one name fanned out and merged, under another in one invocation.</summary>
    private async Task<(Result Sharded, Result Single)> ScoreBothWaysAsync(string extension, byte[] content, bool deliver = true)
    {
        var singleKey = await PutAsync(extension, content, "single");
        var single = await new BatchJobRunner(Store, Host, Options(), null, Time).ProcessAsync(singleKey, default);
        Assert.Equal(BatchOutcomeKind.Scored, single.Kind);

        var key = await PutAsync(extension, content);
        var planned = await Runner().ProcessAsync(key, default);
        Assert.Equal(BatchOutcomeKind.Sharded, planned.Kind);
        if (deliver)
        {
            // Out of order, as queues deliver.
            foreach (var message in Queue.Messages.Reverse())
            {
                Assert.Equal(ShardOutcomeKind.Scored, (await Shards().ProcessAsync(message, null, default)).Kind);
            }
        }

        var singleResult = new Result(single.ResultsKey!, await ReadAsync(single.ResultsKey!), single.Summary!.RowsIn, single.Summary.RowsFailed, 1);
        if (!deliver)
        {
            return (new Result(planned.ResultsKey!, [], 0, 0, 0), singleResult);
        }

        using var summary = JsonDocument.Parse(await ReadAsync(planned.ResultsKey![..^$".results.{extension}".Length] + ".summary.json"));
        var root = summary.RootElement;
        Assert.Equal(key, root.GetProperty("input").GetString());
        Assert.Equal(planned.ResultsKey, root.GetProperty("output").GetString());
        return (new Result(planned.ResultsKey!, await ReadAsync(planned.ResultsKey!), root.GetProperty("rows_in").GetInt64(), root.GetProperty("rows_failed").GetInt64(), root.GetProperty("shards").GetInt32()), singleResult);
    }

    private async Task<string> PutAsync(string extension, byte[] content, string prefix = "")
    {
        var key = $"incoming/iris/{prefix}{F}.{extension}";
        await PutBehindAsync(key, content);
        return key;
    }

    private async Task<ShardPlan> PlanAsync(string message) =>
        ShardPlan.Parse(await ReadAsync(ShardMessage.Parse(message).Plan));

    private async Task<List<string>> PartsAsync() =>
        [.. (await ListAsync($"outgoing/iris/{F}.csv.")).Where(k => k.Contains("/part-", StringComparison.Ordinal) && k.EndsWith(".csv", StringComparison.Ordinal))];

    private static string RunFolder(string key) =>
        key.EndsWith("/plan.json", StringComparison.Ordinal) ? key[..^"plan.json".Length] : key[..key.LastIndexOf(".results.", StringComparison.Ordinal)] + "/";

    private async Task<List<string>> ListAsync(string prefix)
    {
        var keys = new List<string>();
        var folder = prefix[..(prefix.LastIndexOf('/') + 1)];
        await foreach (var item in Store.ListAsync(folder, default))
        {
            if (item.Key.StartsWith(prefix, StringComparison.Ordinal))
            {
                keys.Add(item.Key);
            }
        }

        keys.Sort(StringComparer.Ordinal);
        return keys;
    }

    private async Task<byte[]> ReadAsync(string key)
    {
        var stat = await Store.StatAsync(key, default) ?? throw new InvalidOperationException($"{key} does not exist");
        await using var stream = await Store.OpenReadAsync(stat, default);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    /// <summary>
    /// Iris rows with an id column: every <paramref name="quotedNewlineEvery"/>th id a quoted field holding a newline
    /// (so records span lines), every <paramref name="badRowEvery"/>th row missing a field (a row error).
    /// </summary>
    private static byte[] IrisCsv(int rows, int quotedNewlineEvery = 0, int badRowEvery = 0)
    {
        var text = new StringBuilder("id,sepal_length,sepal_width,petal_length,petal_width\n");
        for (var i = 0; i < rows; i++)
        {
            var id = quotedNewlineEvery > 0 && i % quotedNewlineEvery == quotedNewlineEvery - 1 ? $"\"row {i}\nspans, lines\"" : i.ToString(CultureInfo.InvariantCulture);
            var features = string.Join(',', Features(i));
            text.Append(id).Append(',').Append(badRowEvery > 0 && i % badRowEvery == badRowEvery - 1 ? features[..features.LastIndexOf(',')] : features).Append('\n');
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }

    private static string Row(int i) => "[" + string.Join(',', Features(i)) + "]";

    private static IEnumerable<string> Features(int i) =>
        [$"{4.5 + i % 30 / 10.0:0.0}", $"{2.5 + i % 17 / 10.0:0.0}", $"{1.0 + i % 50 / 10.0:0.0}", $"{0.1 + i % 23 / 10.0:0.0}"];

    private sealed record Result(string ResultsKey, byte[] Results, long RowsIn, long RowsFailed, int Shards);

    /// <summary>Records what the runner sends, so a test delivers it as it likes.</summary>
    protected sealed class RecordingShardQueue : IShardQueue
    {
        private readonly ConcurrentQueue<string> _messages = new();

        public IReadOnlyList<string> Messages => [.. _messages];

        public Task SendAsync(IReadOnlyList<ShardMessage> messages, CancellationToken cancellationToken)
        {
            foreach (var message in messages)
            {
                _messages.Enqueue(message.ToJson());
            }

            return Task.CompletedTask;
        }
    }

    /// <summary>A store whose reads of one input at one offset fail, or run a step first: a poison shard, a worker that dies.</summary>
    private sealed class ShardFailingStore(IBatchStore inner, string input, long? shardOffset) : IBatchStore
    {
        public long? FailOffset { get; set; } = shardOffset;

        public Action? OnRead { get; init; }

        public string Description => inner.Description;

        public Task<BatchObject?> StatAsync(string key, CancellationToken cancellationToken) => inner.StatAsync(key, cancellationToken);

        public Task<Stream> OpenReadAsync(BatchObject pinned, long offset, long? length, CancellationToken cancellationToken)
        {
            if (pinned.Key == input && length is not null)
            {
                if (offset == FailOffset)
                {
                    throw new BatchStoreException("the disk under this range is bad");
                }

                OnRead?.Invoke();
                cancellationToken.ThrowIfCancellationRequested();
            }

            return inner.OpenReadAsync(pinned, offset, length, cancellationToken);
        }

        public Task<bool> CreateAsync(string key, Stream content, CancellationToken cancellationToken) => inner.CreateAsync(key, content, cancellationToken);

        public Task<bool> ComposeAsync(string key, IReadOnlyList<BatchObject> parts, CancellationToken cancellationToken) => inner.ComposeAsync(key, parts, cancellationToken);

        public Task WriteAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) => inner.WriteAsync(key, content, cancellationToken);

        public Task<bool> DeleteAsync(BatchObject pinned, CancellationToken cancellationToken) => inner.DeleteAsync(pinned, cancellationToken);

        public IAsyncEnumerable<BatchObject> ListAsync(string prefix, CancellationToken cancellationToken) => inner.ListAsync(prefix, cancellationToken);
    }
}

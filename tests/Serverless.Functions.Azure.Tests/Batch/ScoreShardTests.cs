using System.Text.Json;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Functions.Azure.Batch;
using Serverless.Inference.Batch;
using Serverless.Inference.Batch.Sharding;

namespace Serverless.Functions.Azure.Tests.Batch;

/// <summary>
/// A file several shards big, end to end on Azurite's blob and queue services: <see cref="ScoreBlob"/> plans it and
/// puts one message per shard on the real <c>batch-shards</c> queue; the queue is drained as the Functions host
/// drains it, each message handed to <see cref="ScoreShard"/>, on one or several app instances. Results are compared
/// byte for byte with an unsharded run of the same content.
/// </summary>
public sealed class ScoreShardTests(AzuriteWithQueues azurite) : IClassFixture<AzuriteWithQueues>, IAsyncLifetime, IDisposable
{
    /// <summary>Any file over 1 KB is sharded, into shards of about 1 KB (rows per shard are whole micro-batches, more than these files hold).</summary>
    private static readonly Dictionary<string, string?> SmallShards = new()
    {
        ["Inference:ShardMinBytes"] = "1024",
        ["Inference:BytesPerShard"] = "1024",
    };

    private readonly List<AzureApp> _apps = [];
    private readonly string _name = "f" + Guid.NewGuid().ToString("N")[..8];
    private readonly QueueClient _shards = azurite.CreateQueueClient().GetQueueClient(AzureContract.ShardQueue);
    private readonly QueueClient _poison = azurite.CreateQueueClient().GetQueueClient(AzureContract.ShardPoisonQueue);

    private BlobServiceClient Storage => azurite.CreateClient();

    public async Task InitializeAsync()
    {
        await Iris.UploadAsync(Storage);
        foreach (var queue in new[] { _shards, _poison })
        {
            await queue.CreateIfNotExistsAsync();
            await queue.ClearMessagesAsync();
        }
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose()
    {
        foreach (var app in _apps)
        {
            app.Dispose();
        }
    }

    [Fact]
    public async Task BigFile_FannedOutOverTheQueue_OneResultIdenticalToAnUnshardedRunAndNothingLeftBehind()
    {
        var csv = Csv(rows: 400);
        var expected = await UnshardedAsync(csv);
        var app = App(SmallShards);
        var blob = await Blobs.PutAsync(Storage, $"incoming/iris/{_name}.csv", csv);

        await app.ScoreAsync(blob);
        var queued = (await _shards.GetPropertiesAsync()).Value.ApproximateMessagesCount;
        var host = Host();
        await host.DrainAsync(message => app.ScoreShardAsync(message));

        Assert.InRange(queued, 6, 12);
        Assert.Equal(queued, host.Invocations.Count);
        Assert.All(host.Invocations, i => Assert.Null(i.Error));
        var outgoing = await Blobs.ListAsync(Storage, "outgoing", $"iris/{_name}.csv.");
        Assert.Equal(2, outgoing.Count);
        var results = Assert.Single(outgoing, k => k.EndsWith(".results.csv", StringComparison.Ordinal));
        Assert.Equal(expected.Results, await ReadBytesAsync(results));
        using var summary = JsonDocument.Parse(await Blobs.ReadTextAsync(Storage, Assert.Single(outgoing, k => k.EndsWith(".summary.json", StringComparison.Ordinal))));
        Assert.Equal(results, summary.RootElement.GetProperty("output").GetString());
        Assert.Equal(queued, summary.RootElement.GetProperty("shards").GetInt32());
        Assert.Equal(
            (expected.Summary.GetProperty("rows_in").GetInt64(), expected.Summary.GetProperty("rows_ok").GetInt64(), expected.Summary.GetProperty("rows_failed").GetInt64()),
            (summary.RootElement.GetProperty("rows_in").GetInt64(), summary.RootElement.GetProperty("rows_ok").GetInt64(), summary.RootElement.GetProperty("rows_failed").GetInt64()));
        Assert.Equal(401, summary.RootElement.GetProperty("rows_in").GetInt64());
        Assert.Equal(0, (await _poison.GetPropertiesAsync()).Value.ApproximateMessagesCount);
        Assert.Empty(await Blobs.ListAsync(Storage, "failed", $"iris/{_name}"));
    }

    [Fact]
    public async Task SeveralInstances_DrainTogether_SameResultAsOne()
    {
        var csv = Csv(rows: 600);
        var expected = await UnshardedAsync(csv);
        var instances = new[] { App(SmallShards), App(SmallShards), App(SmallShards) };
        var blob = await Blobs.PutAsync(Storage, $"incoming/iris/{_name}.csv", csv);

        await instances[0].ScoreAsync(blob);
        var host = Host();
        await host.DrainAsync([.. instances.Select(app => (Func<string, Task>)(message => app.ScoreShardAsync(message)))]);

        Assert.All(host.Invocations, i => Assert.Null(i.Error));
        var outgoing = await Blobs.ListAsync(Storage, "outgoing", $"iris/{_name}.csv.");
        Assert.Equal(expected.Results, await ReadBytesAsync(Assert.Single(outgoing, k => k.EndsWith(".results.csv", StringComparison.Ordinal))));
        Assert.Equal(2, outgoing.Count);
    }

    [Fact]
    public async Task MalformedAndJoblessMessages_DeadLetteredWithTheirReason_InvocationsSucceed()
    {
        var app = App(SmallShards);
        await _shards.SendMessageAsync("this is not a shard message");
        await _shards.SendMessageAsync(new ShardMessage($"outgoing/iris/{_name}.csv.0123456789/plan.json", 0).ToJson());
        var host = Host();

        await host.DrainAsync(message => app.ScoreShardAsync(message));

        Assert.All(host.Invocations, i => Assert.Null(i.Error));
        var dead = await DrainAsync(_poison);
        Assert.Equal(2, dead.Count);
        var envelopes = dead.Select(d => JsonDocument.Parse(d).RootElement).ToDictionary(e => e.GetProperty("message").GetString()!, e => e.GetProperty("reason").GetString()!);
        Assert.StartsWith("the message is not JSON", envelopes["this is not a shard message"], StringComparison.Ordinal);
        Assert.Equal($"no job: 'outgoing/iris/{_name}.csv.0123456789/plan.json' does not exist", envelopes[new ShardMessage($"outgoing/iris/{_name}.csv.0123456789/plan.json", 0).ToJson()]);
        Assert.Equal(0, (await _shards.GetPropertiesAsync()).Value.ApproximateMessagesCount);
    }

    [Fact]
    public async Task SameShardTwice_InTurnAndAtOnceOnTwoInstances_OnePart()
    {
        var csv = Csv(rows: 200);
        var expected = await UnshardedAsync(csv);
        var (first, second) = (App(SmallShards), App(SmallShards));
        var blob = await Blobs.PutAsync(Storage, $"incoming/iris/{_name}.csv", csv);
        await first.ScoreAsync(blob);
        var host = Host();
        var shard0 = (await host.TakeAsync())!;
        var shard1 = (await host.TakeAsync())!;

        await first.ScoreShardAsync(shard0.Body.ToString());
        await second.ScoreShardAsync(shard0.Body.ToString());
        await Task.WhenAll(Task.Run(() => first.ScoreShardAsync(shard1.Body.ToString())), Task.Run(() => second.ScoreShardAsync(shard1.Body.ToString())));
        var folder = await RunFolderAsync();

        // The planner sends shard messages several at once, so the queue may hand out any two of them.
        var taken = new[] { shard0, shard1 }.Select(m => ShardMessage.Parse(m.Body.ToString()).Shard).Order();
        Assert.Equal(
            taken.SelectMany(shard => new[] { $"part-{shard:D5}.csv", $"part-{shard:D5}.summary.json" }),
            folder.Where(k => k.StartsWith("part-", StringComparison.Ordinal)));
        await host.CompleteAsync(shard0);
        await host.CompleteAsync(shard1);
        await host.DrainAsync(message => first.ScoreShardAsync(message));
        var outgoing = await Blobs.ListAsync(Storage, "outgoing", $"iris/{_name}.csv.");
        Assert.Equal(expected.Results, await ReadBytesAsync(Assert.Single(outgoing, k => k.EndsWith(".results.csv", StringComparison.Ordinal))));
    }

    /// <summary>
    /// The last two shards, each on its own instance, both publish their part before either looks for the rest: both
    /// find every part there, and the create-only claim lets one of them merge.
    /// </summary>
    [Fact]
    public async Task LastTwoShardsFinishingTogetherOnTwoInstances_OneMergeOneResult()
    {
        var csv = Csv(rows: 200);
        var expected = await UnshardedAsync(csv);
        var first = App(SmallShards, watched: true);
        var second = App(SmallShards, watched: true);
        var (firstStore, secondStore) = (Watched(first), Watched(second));
        var blob = await Blobs.PutAsync(Storage, $"incoming/iris/{_name}.csv", csv);
        await first.ScoreAsync(blob);
        var host = Host();
        var shards = new List<global::Azure.Storage.Queues.Models.QueueMessage>();
        while (await host.TakeAsync() is { } message)
        {
            shards.Add(message);
        }

        foreach (var message in shards.SkipLast(2))
        {
            await first.ScoreShardAsync(message.Body.ToString());
        }

        var bothPublished = new Barrier(2);
        Task Line_up(string key) => key.Contains("/part-", StringComparison.Ordinal) && key.EndsWith(".summary.json", StringComparison.Ordinal)
            ? Task.Run(() => Assert.True(bothPublished.SignalAndWait(TimeSpan.FromSeconds(30)), "the other instance never published its part"))
            : Task.CompletedTask;
        firstStore.AfterCreate = Line_up;
        secondStore.AfterCreate = Line_up;
        await Task.WhenAll(
            Task.Run(() => first.ScoreShardAsync(shards[^2].Body.ToString())),
            Task.Run(() => second.ScoreShardAsync(shards[^1].Body.ToString())));

        Assert.Equal(1, firstStore.Composes + secondStore.Composes);
        var outgoing = await Blobs.ListAsync(Storage, "outgoing", $"iris/{_name}.csv.");
        Assert.Equal(2, outgoing.Count);
        Assert.Equal(expected.Results, await ReadBytesAsync(Assert.Single(outgoing, k => k.EndsWith(".results.csv", StringComparison.Ordinal))));
    }

    /// <summary>
    /// A shard that fails every time: the invocation throws so the queue delivers it again, the runner counts its
    /// attempts, and after Inference__MaxAttempts the file goes to failed/ with the shard named, before the host's
    /// maxDequeueCount would have moved the message to the poison queue.
    /// </summary>
    [Fact]
    public async Task ShardFailingEveryTime_RedeliveredThenTheFileFailsBeforeTheHostPoisonsTheMessage()
    {
        var csv = Csv(rows: 120);
        var planner = App(SmallShards);
        var blob = await Blobs.PutAsync(Storage, $"incoming/iris/{_name}.csv", csv);
        await planner.ScoreAsync(blob);
        // A worker that finds no model: every shard it takes fails.
        var worker = App(SmallShards, configure: services => services.AddSingleton(new Serverless.Inference.Hosting.ModelHost(
            new Serverless.Inference.Repository.LocalFolderModelStore(Directory.CreateTempSubdirectory("no-models-").FullName),
            new Serverless.Inference.Hosting.ModelHostOptions())));
        var host = Host();

        await host.DrainAsync(message => worker.ScoreShardAsync(message));

        var retried = host.Invocations.Where(i => i.Error is not null).ToList();
        Assert.NotEmpty(retried);
        Assert.All(retried, i => Assert.IsType<ShardRetryException>(i.Error));
        Assert.True(QueueTriggerHost.MaxDequeueCount > 3, "maxDequeueCount must exceed the runner's attempts");
        Assert.Empty(await DrainAsync(_poison));
        var failed = await Blobs.ListAsync(Storage, "failed", $"iris/{_name}.csv");
        Assert.Contains($"failed/iris/{_name}.csv", failed);
        var error = await Blobs.ReadTextAsync(Storage, Assert.Single(failed, k => k.EndsWith(".error.json", StringComparison.Ordinal)));
        Assert.Contains("shard ", error, StringComparison.Ordinal);
        Assert.DoesNotContain(await Blobs.ListAsync(Storage, "outgoing", $"iris/{_name}.csv."), k => k.EndsWith(".results.csv", StringComparison.Ordinal));
    }

    private static string Csv(int rows) =>
        $"id,{Iris.Header}\n" + string.Concat(Enumerable.Range(0, rows).Select(i => $"{i},{Iris.Csv(i % Iris.Inputs.Count)}\n")) + "bad,1,2,3\n";

    private AzureApp App(Dictionary<string, string?>? settings = null, bool watched = false, Action<IServiceCollection>? configure = null)
    {
        var app = new AzureApp(azurite.ConnectionString, settings, services =>
        {
            configure?.Invoke(services);
            if (watched)
            {
                services.AddSingleton<IBatchStore>(provider => new WatchedStore(
                    new Serverless.Functions.Azure.Storage.BlobBatchStore(provider.GetRequiredService<Serverless.Functions.Azure.Hosting.InferenceStorage>().Service)));
            }
        });
        _apps.Add(app);
        return app;
    }

    private static WatchedStore Watched(AzureApp app) => (WatchedStore)app.Services.GetRequiredService<IBatchStore>();

    private QueueTriggerHost Host() => new(_shards, _poison);

    /// <summary>The same content scored in one invocation (files up to 4 MiB are, by default).</summary>
    private async Task<(byte[] Results, JsonElement Summary)> UnshardedAsync(string csv)
    {
        var app = App();
        var blob = await Blobs.PutAsync(Storage, $"incoming/iris/{_name}-whole.csv", csv);
        await app.ScoreAsync(blob);
        var outgoing = await Blobs.ListAsync(Storage, "outgoing", $"iris/{_name}-whole.csv.");
        Assert.Equal(0, (await _shards.GetPropertiesAsync()).Value.ApproximateMessagesCount);
        var summary = JsonDocument.Parse(await Blobs.ReadTextAsync(Storage, outgoing.Single(k => k.EndsWith(".summary.json", StringComparison.Ordinal)))).RootElement.Clone();
        return (await ReadBytesAsync(outgoing.Single(k => k.EndsWith(".results.csv", StringComparison.Ordinal))), summary);
    }

    /// <summary>The names in the run's folder (outgoing/iris/&lt;file&gt;.&lt;run&gt;/).</summary>
    private async Task<List<string>> RunFolderAsync()
    {
        var prefix = $"iris/{_name}.csv.";
        var keys = await Blobs.ListAsync(Storage, "outgoing", prefix);
        return [.. keys.Where(k => k.Contains('/', StringComparison.Ordinal) && k.IndexOf('/', $"outgoing/{prefix}".Length) > 0).Select(k => k[(k.LastIndexOf('/') + 1)..]).Order(StringComparer.Ordinal)];
    }

    private async Task<byte[]> ReadBytesAsync(string key)
    {
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        return (await Storage.GetBlobContainerClient(key[..slash]).GetBlobClient(key[(slash + 1)..]).DownloadContentAsync()).Value.Content.ToArray();
    }

    private static async Task<List<string>> DrainAsync(QueueClient queue)
    {
        var texts = new List<string>();
        while ((await queue.ReceiveMessagesAsync(maxMessages: 32)).Value is { Length: > 0 } batch)
        {
            foreach (var message in batch)
            {
                texts.Add(message.Body.ToString());
                await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt);
            }
        }

        return texts;
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Text;
using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Functions.Azure.Hosting;
using Serverless.Functions.Azure.Storage;
using Serverless.Inference.Batch;
using Xunit.Abstractions;

namespace Serverless.Functions.Azure.Tests.Figures;

/// <summary>
/// One tabular file through the Azure fan-out on Azurite (blob + queue), against the same file scored in one
/// invocation: wall time with 1, 2 and 4 app instances draining the real <c>batch-shards</c> queue (in this process,
/// so they share its cores), and what the fan-out itself costs: planning (ScoreBlob's invocation) and the server-side
/// merge (Put Block From URL + Put Block List). Printed with the test output:
/// <c>dotnet test tests/Serverless.Functions.Azure.Tests --filter Category=Figures --logger "console;verbosity=detailed"</c>;
/// AZURE_FIGURES_ROWS sets the rows (default 100,000 iris rows).
/// </summary>
[Trait("Category", "Figures")]
public sealed class ShardFigures(AzuriteWithQueues azurite, ITestOutputHelper output) : IClassFixture<AzuriteWithQueues>, IDisposable
{
    /// <summary>Shards hold at most this share of the file (and at most the default rows per shard).</summary>
    private const int Shards = 8;

    private readonly List<AzureApp> _apps = [];

    private static int Rows => int.TryParse(Environment.GetEnvironmentVariable("AZURE_FIGURES_ROWS"), CultureInfo.InvariantCulture, out var rows) && rows > 0 ? rows : 100_000;

    public void Dispose()
    {
        foreach (var app in _apps)
        {
            app.Dispose();
        }
    }

    [Fact]
    public async Task FanOut_OneTwoFourInstances_WallTimePlanAndMergeShares()
    {
        await Iris.UploadAsync(azurite.CreateClient());
        var csv = IrisCsv(Rows);
        var storage = azurite.CreateClient();
        var queues = azurite.CreateQueueClient();
        var shards = queues.GetQueueClient(AzureContract.ShardQueue);
        await shards.CreateIfNotExistsAsync();
        output.WriteLine($"iris: {Rows:N0} rows, {csv.Length / 1048576.0:F1} MiB, shards of at most 1/{Shards} of the file, on Azurite (blob + queue), app instances in one process sharing {Environment.ProcessorCount} cores");

        // Never sharded, whatever its size: the baseline.
        var single = App(new Dictionary<string, string?> { ["Inference:ShardMinBytes"] = long.MaxValue.ToString(CultureInfo.InvariantCulture) });
        (await single.Host.AcquireAsync("iris", null, default)).Dispose();
        var started = Stopwatch.GetTimestamp();
        await single.ScoreAsync(await Blobs.PutAsync(storage, "incoming/iris/whole.csv", csv));
        var one = Stopwatch.GetElapsedTime(started);
        var expected = await ResultsAsync("iris/whole.csv.");
        output.WriteLine($"  one invocation: {one.TotalSeconds,7:F2} s  {Rows / one.TotalSeconds,9:N0} rows/s");

        foreach (var count in new[] { 1, 2, 4 })
        {
            var settings = new Dictionary<string, string?>
            {
                ["Inference:ShardMinBytes"] = "1024",
                ["Inference:BytesPerShard"] = ((csv.Length / Shards) + 1).ToString(CultureInfo.InvariantCulture),
            };
            var instances = Enumerable.Range(0, count).Select(_ => App(settings, watched: true)).ToList();
            foreach (var instance in instances)
            {
                (await instance.Host.AcquireAsync("iris", null, default)).Dispose();
            }

            var name = $"iris/scaled-{count}.csv";
            var blob = await Blobs.PutAsync(storage, $"incoming/{name}", csv);
            started = Stopwatch.GetTimestamp();
            await instances[0].ScoreAsync(blob);
            var plan = Stopwatch.GetElapsedTime(started);
            var queued = (await shards.GetPropertiesAsync()).Value.ApproximateMessagesCount;
            var host = new QueueTriggerHost(shards, queues.GetQueueClient(AzureContract.ShardPoisonQueue));
            await host.DrainAsync([.. instances.Select(app => (Func<string, Task>)(message => app.ScoreShardAsync(message)))], TimeSpan.FromMinutes(30));
            var total = Stopwatch.GetElapsedTime(started);
            var merge = TimeSpan.FromTicks(instances.Sum(app => ((WatchedStore)app.Services.GetRequiredService<IBatchStore>()).ComposeTime.Ticks));

            Assert.Equal(expected, await ResultsAsync($"{name}."));
            Assert.All(host.Invocations, i => Assert.Null(i.Error));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {count} instance(s): {total.TotalSeconds,7:F2} s  {Rows / total.TotalSeconds,9:N0} rows/s  {one.TotalSeconds / total.TotalSeconds:F2}x one invocation  {queued} shards  plan {plan.TotalSeconds:F2} s + merge {merge.TotalSeconds:F2} s = {100 * (plan + merge) / total:F1}% of the total"));
        }
    }

    private AzureApp App(Dictionary<string, string?> settings, bool watched = false)
    {
        var app = new AzureApp(azurite.ConnectionString, settings, services =>
        {
            if (watched)
            {
                services.AddSingleton<IBatchStore>(provider => new WatchedStore(new BlobBatchStore(provider.GetRequiredService<InferenceStorage>().Service)));
            }
        });
        _apps.Add(app);
        return app;
    }

    private async Task<byte[]> ResultsAsync(string prefix)
    {
        var key = (await Blobs.ListAsync(azurite.CreateClient(), "outgoing", prefix)).Single(k => k.EndsWith(".results.csv", StringComparison.Ordinal));
        return (await azurite.CreateClient().GetBlobContainerClient("outgoing").GetBlobClient(key["outgoing/".Length..]).DownloadContentAsync()).Value.Content.ToArray();
    }

    private static string IrisCsv(int rows)
    {
        var csv = new StringBuilder($"id,{Iris.Header}\n", rows * 24);
        for (var i = 0; i < rows; i++)
        {
            csv.Append(i).Append(',').Append(Iris.Csv(i % Iris.Inputs.Count)).Append('\n');
        }

        return csv.ToString();
    }
}

using System.Text;
using Microsoft.Extensions.Time.Testing;
using Serverless.Inference.Batch;
using Serverless.Inference.Hosting;
using Serverless.Inference.Repository;

namespace Serverless.Batch.Contract;

/// <summary>
/// The sweep of incoming/ over each store. One test per class: the sweep lists the whole of incoming/, so it needs a
/// store no other test writes to.
/// </summary>
public abstract class IncomingSweepContract : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("sweep-work-").FullName;
    private readonly ModelHost _host = new(new LocalFolderModelStore(Path.Combine(AppContext.BaseDirectory, "models")), new ModelHostOptions { DefaultIntraOpThreads = 1 });

    /// <summary>A store whose incoming/ is empty and seen by this test alone.</summary>
    protected abstract IBatchStore Store { get; }

    protected abstract Task PutBehindAsync(string key, byte[] content);

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            _host.Dispose();
            Directory.Delete(_work, recursive: true);
        }
    }

    [Fact]
    public async Task Sweep_OldUnscoredScoredFreshLeftScoredNotAgainAndBounded()
    {
        var csv = Encoding.UTF8.GetBytes("sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n");
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var runner = new BatchJobRunner(Store, _host, new BatchRunnerOptions { WorkDirectory = _work }, null, time);
        var sweep = new IncomingSweep(runner, new IncomingSweepOptions { OlderThan = TimeSpan.FromMinutes(15), MaxFiles = 1 }, time);
        await PutBehindAsync("incoming/iris/a.csv", csv);
        await PutBehindAsync("incoming/iris/b.csv", csv);
        await PutBehindAsync("incoming/iris/scored.csv", csv);
        await PutBehindAsync("incoming/_attachments/cat.png", [1, 2, 3]);
        Assert.Equal(BatchOutcomeKind.Scored, (await runner.ProcessAsync("incoming/iris/scored.csv", default)).Kind);
        var scoredOutputs = await OutgoingAsync();

        // Fresh files are the event path's.
        var fresh = await sweep.RunAsync(null, default);
        Assert.Equal(new SweepSummary(4, 0, 0, 0, 0, 0, true), fresh);
        Assert.Equal(scoredOutputs, await OutgoingAsync());

        time.Advance(TimeSpan.FromHours(1));
        var first = await sweep.RunAsync(null, default);
        var second = await sweep.RunAsync(null, default);
        var third = await sweep.RunAsync(null, default);

        // At most one file scored per sweep; the one scored before costs a look and is not scored again.
        Assert.Equal((1, false), (first.Scored, first.Complete));
        Assert.Equal(1, second.Scored);
        Assert.Equal(new SweepSummary(4, 3, 0, 3, 0, 0, true), third);
        var outgoing = await OutgoingAsync();
        Assert.Equal(6, outgoing.Count);
        Assert.All(scoredOutputs, key => Assert.Contains(key, outgoing));
        Assert.Equal(4, outgoing.Count(k => k.StartsWith("outgoing/iris/a.csv.", StringComparison.Ordinal) || k.StartsWith("outgoing/iris/b.csv.", StringComparison.Ordinal)));
        Assert.NotNull(await Store.StatAsync("incoming/_attachments/cat.png", default));
    }

    private async Task<List<string>> OutgoingAsync()
    {
        var keys = new List<string>();
        await foreach (var item in Store.ListAsync("outgoing/", default))
        {
            keys.Add(item.Key);
        }

        keys.Sort(StringComparer.Ordinal);
        return keys;
    }
}

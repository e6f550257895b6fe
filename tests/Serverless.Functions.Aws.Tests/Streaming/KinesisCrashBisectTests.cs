using static Serverless.Functions.Aws.Tests.Support.KinesisEvents;
using static Serverless.Functions.Aws.Tests.Support.StreamOutput;

namespace Serverless.Functions.Aws.Tests.Streaming;

/// <summary>A crash mid-run, then Lambda's bisected retries, whose runs are not the run that died.</summary>
public sealed class KinesisCrashBisectTests(MotoServer moto) : IClassFixture<MotoServer>
{
    /// <summary>
    /// The environment dies between a run's state saved and its predictions object created; Lambda bisects the failed
    /// batch of three, so the retries' runs ([0], then [1, 2]) are not the run that died ([0, 1]). Every record must still
    /// get its line once, and the alert its records raise must still go out.
    /// </summary>
    [Fact]
    public async Task Kinesis_CrashMidRunThenBisected_RetriesWithOtherRunsStillScoreAndAlertOnce()
    {
        await using var stream = await MotoStream.CreateAsync(moto);
        var shard = Items(("sensor-a", Versicolor), ("sensor-a", Versicolor), ("sensor-b", Setosa));
        var instance = stream.NewInstance(store => new CrashingStore(store));
        var poller = new KinesisPoller(async batch => await MotoStream.InvokeAsync(instance, batch), batchSize: 3, retryAttempts: 3);

        await poller.RunAsync(shard);

        Assert.Empty(poller.GivenUp);
        Assert.Equal(3, poller.Deliveries[0].Count);
        Assert.Equal([1, 2], poller.Deliveries.Skip(1).Select(d => d.Count));
        var lines = await stream.PredictionLinesAsync();
        Assert.Equal(shard.Select(r => r.SequenceNumber), lines.Select(l => l.GetProperty("position").GetString()));
        Assert.Equal(["versicolor", "versicolor", "setosa"], lines.Select(Label));
        Assert.Equal([$"{MotoStream.VersicolorTwiceRule} sensor-a {SequenceNumber(1)}"], (await stream.DrainAlertsAsync(1)).Select(Describe));
    }
}

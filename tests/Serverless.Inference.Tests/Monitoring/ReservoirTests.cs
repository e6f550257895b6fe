using Serverless.Infer.Cli.Monitor;

namespace Serverless.Inference.Tests.Monitoring;

public sealed class ReservoirTests
{
    [Fact]
    public void Add_BelowCapacity_KeepsEveryValue()
    {
        var reservoir = new Reservoir(capacity: 8);
        foreach (var value in new double[] { 5, 3, 9, 1 })
        {
            reservoir.Add(value);
        }

        Assert.Equal([1.0, 3, 5, 9], reservoir.Sorted().ToArray());
        Assert.Equal(4, reservoir.Seen);
    }

    [Fact]
    public void Add_FarPastCapacity_KeepsAFixedSizeSampleWhoseCdfIsWithinTheStatedError()
    {
        var reservoir = new Reservoir();
        for (var i = 0; i < 1_000_000; i++)
        {
            reservoir.Add(i % 1000);
        }

        Assert.Equal(Reservoir.DefaultCapacity, reservoir.Count);
        Assert.Equal(1_000_000, reservoir.Seen);
        // The stream is uniform on 0..999: the sample's CDF stays within the DKW bound (±0.011 at 95 %; 0.02 leaves room).
        var sorted = reservoir.Sorted().ToArray();
        var uniform = Enumerable.Range(0, 1000).Select(i => (double)i).ToArray();
        Assert.InRange(DriftStatistics.KolmogorovSmirnov(sorted, uniform), 0, 0.02);
    }
}

using Serverless.Functions.Aws.Storage;
using Serverless.Inference.Batch;

namespace Serverless.Functions.Aws.Tests.Storage;

/// <summary>The compose planner alone: which bytes are copied server-side and which are streamed, and S3's part rules.</summary>
public sealed class S3ComposePlanTests
{
    private const long MiB = 1 << 20;

    private static BatchObject Part(int index, long length) => new($"outgoing/m/f.csv.run/part-{index}", $"etag{index}", length, DateTimeOffset.UnixEpoch);

    private static List<BatchObject> Parts(params long[] lengths) => [.. lengths.Select((length, i) => Part(i, length))];

    [Fact]
    public void Plan_EveryPartAtLeastTheMinimum_AllCopiedWhole()
    {
        var parts = Parts(6 * MiB, 11 * MiB, 5 * MiB);

        var plan = S3ComposePlan.Plan(parts);

        Assert.Equal([true, true, true], plan.Select(p => p.IsCopy));
        Assert.Equal(parts, plan.Select(p => Assert.Single(p.Pieces)).Select(piece => piece.Part));
        Assert.All(plan, p => Assert.Equal((0L, p.Pieces[0].Part.Length), (p.Pieces[0].Offset, p.Pieces[0].Length)));
    }

    [Fact]
    public void Plan_SmallLastPart_CopiedAsTheLastUploadPart()
    {
        var plan = S3ComposePlan.Plan(Parts(6 * MiB, 11 * MiB, 5));

        Assert.Equal([true, true, true], plan.Select(p => p.IsCopy));
        Assert.Equal(5, plan[^1].Length);
    }

    [Fact]
    public void Plan_SmallPartBetweenLargeOnes_ToppedUpFromTheNextAndTheRestCopied()
    {
        var plan = S3ComposePlan.Plan(Parts(6 * MiB, 5, 11 * MiB));

        Assert.Equal([true, false, true], plan.Select(p => p.IsCopy));
        Assert.Equal(S3ComposePlan.MinPartBytes, plan[1].Length);
        Assert.Equal([(1, 0L, 5L), (2, 0L, S3ComposePlan.MinPartBytes - 5)], plan[1].Pieces.Select(p => (int.Parse(p.Part.Key[^1..], System.Globalization.CultureInfo.InvariantCulture), p.Offset, p.Length)));
        Assert.Equal((S3ComposePlan.MinPartBytes - 5, 11 * MiB - S3ComposePlan.MinPartBytes + 5), (plan[2].Pieces[0].Offset, plan[2].Pieces[0].Length));
    }

    [Fact]
    public void Plan_OnlySmallParts_OneStreamedPart()
    {
        var plan = S3ComposePlan.Plan(Parts(10, 0, 20, 30));

        var only = Assert.Single(plan);
        Assert.False(only.IsCopy);
        Assert.Equal(60, only.Length);
    }

    [Fact]
    public void Plan_NoBytes_NoUploadParts()
    {
        Assert.Empty(S3ComposePlan.Plan(Parts(0, 0)));
        Assert.Empty(S3ComposePlan.Plan([]));
    }

    [Fact]
    public void Plan_PartAboveTheMaximum_CopiedInRangesWithinTheLimits()
    {
        var plan = S3ComposePlan.Plan(Parts(25, 3), minPart: 4, maxPart: 10);

        Assert.Equal([(0L, 9L), (9L, 8L), (17L, 8L), (0L, 3L)], plan.Select(p => (p.Pieces[0].Offset, p.Pieces[0].Length)));
        Assert.All(plan, p => Assert.True(p.IsCopy));
    }

    /// <summary>Random part sizes around a small minimum: the bytes come out in order, exactly once, within S3's rules.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Plan_RandomSizes_CoversEveryByteInOrderWithinTheRules(int seed)
    {
        const long Min = 100;
        const long Max = 250;
        var random = new Random(seed);
        var parts = Parts([.. Enumerable.Range(0, 60).Select(_ => random.Next(4) switch { 0 => 0L, 1 => random.Next(1, 40), 2 => random.Next(40, 120), _ => random.Next(120, 700) })]);

        var plan = S3ComposePlan.Plan(parts, Min, Max);

        var covered = plan.SelectMany(p => p.Pieces).ToList();
        var expected = parts.Where(p => p.Length > 0).ToList();
        var position = new Dictionary<BatchObject, long>();
        var order = covered.Select(piece => piece.Part).Distinct().ToList();
        Assert.Equal(expected, order);
        foreach (var piece in covered)
        {
            Assert.Equal(position.GetValueOrDefault(piece.Part), piece.Offset);
            position[piece.Part] = piece.Offset + piece.Length;
        }

        Assert.All(expected, part => Assert.Equal(part.Length, position[part]));
        Assert.Equal(Enumerable.Range(1, plan.Count), plan.Select(p => p.Number));
        Assert.All(plan.SkipLast(1), p => Assert.InRange(p.Length, Min, Max));
        Assert.InRange(plan[^1].Length, 1, Max);
        Assert.All(plan.Where(p => p.IsCopy), p => Assert.Single(p.Pieces));
        Assert.All(plan.Where(p => !p.IsCopy), p => Assert.InRange(p.Length, 1, Min));
    }
}

using Serverless.Infer.Cli.Monitor;

namespace Serverless.Inference.Tests.Monitoring;

/// <summary>The drift tests against values worked out by hand (the working is in each test).</summary>
public sealed class DriftStatisticsTests
{
    [Fact]
    public void Psi_KnownBins_MatchesHandComputedSum()
    {
        // Shares 0.25 each vs 0.1, 0.2, 0.3, 0.4:
        // -0.15 ln 0.4 - 0.05 ln 0.8 + 0.05 ln 1.2 + 0.15 ln 1.6 = 0.137444 + 0.011157 + 0.009116 + 0.070501 = 0.228217
        var psi = DriftStatistics.Psi([25, 25, 25, 25], [10, 20, 30, 40]);

        Assert.Equal(0.228217, psi, 5);
    }

    [Fact]
    public void Psi_EmptyBin_CountsAsTheEpsilonShareAndStaysFinite()
    {
        // Baseline 0.5/0.5/0 (empty bin → 0.0001), current 0.5/0.25/0.25:
        // 0 + (-0.25) ln 0.5 + (0.25 - 0.0001) ln (0.25 / 0.0001) = 0.173287 + 0.2499 · 7.824046 = 0.173287 + 1.955229 = 2.128516
        var psi = DriftStatistics.Psi([50, 50, 0], [50, 25, 25]);

        Assert.Equal(2.128516, psi, 5);
    }

    [Fact]
    public void Psi_SameShares_IsZero() => Assert.Equal(0, DriftStatistics.Psi([10, 30, 60], [100, 300, 600]), 12);

    [Fact]
    public void QuantileEdges_AndBinCounts_SplitTheBaselineIntoEqualCountBins()
    {
        double[] baseline = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

        var edges = DriftStatistics.QuantileEdges(baseline, 5);

        // Bin edges at the values of index 2, 4, 6, 8: (≤3], (3,5], (5,7], (7,9], (9,∞).
        Assert.Equal([3.0, 5, 7, 9], edges);
        Assert.Equal([3L, 2, 2, 2, 1], DriftStatistics.BinCounts(baseline, edges));
        Assert.Equal([1L, 0, 0, 0, 4], DriftStatistics.BinCounts([0, 11, 12, 13, 14], edges));
    }

    [Fact]
    public void QuantileEdges_RepeatedValues_GiveNoEmptyDuplicateBins()
    {
        var edges = DriftStatistics.QuantileEdges([1, 1, 1, 1, 1, 1, 1, 1, 2, 2], 10);

        Assert.Equal([1.0, 2], edges);
    }

    [Fact]
    public void KolmogorovSmirnov_KnownSamples_IsTheLargestCdfGap()
    {
        // F1 - F2 at 1, 2, 3, 4, 5, 6, 7: 0.2, 0.4, 0.4, 0.4, 0.4, 0.2, 0 → D = 0.4.
        Assert.Equal(0.4, DriftStatistics.KolmogorovSmirnov([1, 2, 3, 4, 5], [3, 4, 5, 6, 7]), 12);
        Assert.Equal(1.0, DriftStatistics.KolmogorovSmirnov([1, 2], [3, 4]), 12);
        Assert.Equal(0.0, DriftStatistics.KolmogorovSmirnov([1, 2, 2, 3], [1, 2, 2, 3]), 12);
    }

    [Fact]
    public void KolmogorovSmirnov_Ties_DoNotOpenAGapInsideARunOfEqualValues()
    {
        // Both samples are half 0, half 1: the CDFs are equal everywhere though the runs have different lengths.
        Assert.Equal(0.0, DriftStatistics.KolmogorovSmirnov([0, 0, 1, 1], [0, 0, 0, 1, 1, 1]), 12);
    }

    [Fact]
    public void KolmogorovSmirnovPValue_MatchesTheAsymptoticFormulaWorkedByHand()
    {
        // n = m = 5: √(25/10) = 1.581139; λ = (1.581139 + 0.12 + 0.11/1.581139) · 0.4 = 0.708284;
        // Q = 2 (e^-1.003331 - e^-4.013325 + e^-9.029981 - ...) = 2 (0.366656 - 0.018073 + 0.000120) = 0.697405
        Assert.Equal(0.697405, DriftStatistics.KolmogorovSmirnovPValue(0.4, 5, 5), 4);
        // Large samples, large gap: p vanishes; no gap: p is 1.
        Assert.True(DriftStatistics.KolmogorovSmirnovPValue(0.2, 10_000, 10_000) < 1e-100);
        Assert.Equal(1.0, DriftStatistics.KolmogorovSmirnovPValue(0, 10_000, 10_000), 12);
        // So large that every term of the series underflows: the tail is 0, not "did not converge".
        Assert.Equal(0.0, DriftStatistics.KolmogorovSmirnovPValue(0.378, 20_000, 20_000));
    }

    [Fact]
    public void ChiSquare_KnownTable_MatchesHandComputedStatisticAndPValue()
    {
        // Rows 10/20/30 and 20/20/20; expected 15/20/25 on each row:
        // 25/15 + 0 + 25/25 + 25/15 + 0 + 25/25 = 5.333333, 2 degrees of freedom, p = e^(-5.333333/2) = 0.069483
        var (statistic, freedom, p) = DriftStatistics.ChiSquare([10, 20, 30], [20, 20, 20]);

        Assert.Equal(5.333333, statistic, 5);
        Assert.Equal(2, freedom);
        Assert.Equal(0.069483, p, 5);
    }

    [Fact]
    public void ChiSquare_CategoryUnseenInTheBaseline_CountsAsItsOwnColumn()
    {
        // Rows 50/50/0 and 40/40/20; columns 90, 90, 20 of 200; expected 45/45/10 on each row:
        // 25/45 + 25/45 + 100/10 twice = 2 · (1.111111 + 10) = 22.222222, 2 degrees of freedom, p = e^-11.111111 = 1.49453e-5
        var (statistic, freedom, p) = DriftStatistics.ChiSquare([50, 50, 0], [40, 40, 20]);

        Assert.Equal(22.222222, statistic, 5);
        Assert.Equal(2, freedom);
        Assert.Equal(1.49453e-5, p, 10);
    }

    [Theory]
    [InlineData(3.841459, 1, 0.05)]
    [InlineData(6.634897, 1, 0.01)]
    [InlineData(11.070498, 5, 0.05)]
    [InlineData(2.0, 4, 0.735759)]
    public void ChiSquareTail_KnownQuantiles(double x, int freedom, double p)
    {
        // The first three are the textbook critical values; df 4: Q = e^-1 (1 + 1) = 0.735759.
        Assert.Equal(p, DriftStatistics.ChiSquareTail(x, freedom), 5);
    }

    [Fact]
    public void ChiSquare_OneCategoryOnly_HasNothingToTestAndPIsOne()
    {
        var (statistic, freedom, p) = DriftStatistics.ChiSquare([5, 0], [7, 0]);

        Assert.Equal((0.0, 0, 1.0), (statistic, freedom, p));
    }
}

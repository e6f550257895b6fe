using System.Globalization;

namespace Serverless.Infer.Cli.Monitor;

/// <summary>Compares the current window's features with the baseline's, each by the tests that suit its kind.</summary>
internal sealed class DriftAnalyzer(DriftThresholds thresholds)
{
    /// <summary>PSI bins: deciles of the baseline.</summary>
    public const int PsiBins = 10;

    /// <summary>Equal-width bars in a numeric feature's chart.</summary>
    public const int ChartBins = 20;

    /// <summary>Categories drawn in a chart, the most frequent first; the rest are summed into one bar.</summary>
    public const int ChartCategories = 12;

    public IReadOnlyList<FeatureDrift> Compare(SourceProfile baseline, SourceProfile current, IEnumerable<FeatureKey> keys) =>
        [.. keys.Select(key => Compare(key, baseline.Features[key], current.Features[key]))];

    private FeatureDrift Compare(FeatureKey key, FeatureProfile baseline, FeatureProfile current) => (baseline, current) switch
    {
        (NumericProfile b, NumericProfile c) => Numeric(key, FeatureKind.Numeric, b.Sample, c.Sample, b.Count, c.Count, baseline, current) with
        {
            BaselineMean = b.Mean,
            CurrentMean = c.Mean,
        },
        (StringProfile b, StringProfile c) when b.Overflowed => Numeric(key, FeatureKind.Text, b.Lengths, c.Lengths, b.Count, c.Count, baseline, current),
        (StringProfile b, StringProfile c) => Category(key, b, c),
        (EmbeddingProfile b, EmbeddingProfile c) => Embedding(key, b, c),
        _ => throw new InvalidOperationException($"{key} has different kinds on the two sides; the schema check should have refused it"),
    };

    private FeatureDrift Numeric(FeatureKey key, FeatureKind kind, Reservoir baseline, Reservoir current, long baselineCount, long currentCount, FeatureProfile b, FeatureProfile c)
    {
        var sortedBaseline = baseline.Sorted();
        var sortedCurrent = current.Sorted();
        var edges = DriftStatistics.QuantileEdges(sortedBaseline, PsiBins);
        var psi = DriftStatistics.Psi(DriftStatistics.BinCounts(sortedBaseline, edges), DriftStatistics.BinCounts(sortedCurrent, edges));
        var ks = DriftStatistics.KolmogorovSmirnov(sortedBaseline, sortedCurrent);
        var p = DriftStatistics.KolmogorovSmirnovPValue(ks, sortedBaseline.Length, sortedCurrent.Length);
        var reasons = new List<string>();
        if (psi > thresholds.Psi)
        {
            reasons.Add(Invariant($"PSI {psi:F3} > {thresholds.Psi}"));
        }

        if (ks > thresholds.Ks)
        {
            reasons.Add(Invariant($"KS {ks:F3} > {thresholds.Ks}"));
        }

        return new FeatureDrift(key.Name, key.Group, kind, baselineCount, currentCount, b.Mismatched + c.Mismatched, reasons.Count > 0, reasons, EqualWidthHistogram(sortedBaseline, sortedCurrent))
        {
            Psi = psi,
            Ks = ks,
            KsPValue = p,
        };
    }

    private FeatureDrift Category(FeatureKey key, StringProfile baseline, StringProfile current)
    {
        // Every baseline category is counted exactly on both sides (the current side reserves them); the current side's
        // "other" holds only values the baseline never showed.
        var categories = baseline.Categories.Keys.Union(current.Categories.Keys).Order(StringComparer.Ordinal).ToList();
        var baselineCounts = categories.Select(c => baseline.Categories.GetValueOrDefault(c)).ToList();
        var currentCounts = categories.Select(c => current.Categories.GetValueOrDefault(c)).ToList();
        if (current.Other > 0)
        {
            categories.Add("(other)");
            baselineCounts.Add(0);
            currentCounts.Add(current.Other);
        }

        var psi = DriftStatistics.Psi([.. baselineCounts], [.. currentCounts]);
        var (chi, freedom, p) = DriftStatistics.ChiSquare([.. baselineCounts], [.. currentCounts]);
        var reasons = new List<string>();
        if (psi > thresholds.Psi)
        {
            reasons.Add(Invariant($"PSI {psi:F3} > {thresholds.Psi}"));
        }

        if (p < thresholds.ChiSquareP)
        {
            reasons.Add(Invariant($"chi-square p {p:G3} < {thresholds.ChiSquareP}"));
        }

        var unseen = categories.Where((_, i) => baselineCounts[i] == 0).ToList();
        if (unseen.Count > 0)
        {
            reasons.Add(Invariant($"{unseen.Count} categor{(unseen.Count == 1 ? "y" : "ies")} the baseline never showed"));
        }

        return new FeatureDrift(key.Name, key.Group, FeatureKind.Category, baseline.Count, current.Count, baseline.Mismatched + current.Mismatched,
            psi > thresholds.Psi || p < thresholds.ChiSquareP, reasons, CategoryChart(categories, baselineCounts, currentCounts))
        {
            Psi = psi,
            ChiSquare = chi,
            DegreesOfFreedom = freedom,
            ChiSquarePValue = p,
        };
    }

    private FeatureDrift Embedding(FeatureKey key, EmbeddingProfile baseline, EmbeddingProfile current)
    {
        if (baseline.Length != current.Length || baseline.Count == 0 || current.Count == 0)
        {
            return new FeatureDrift(key.Name, key.Group, FeatureKind.Embedding, baseline.Count, current.Count, baseline.Mismatched + current.Mismatched, true,
                [Invariant($"{baseline.Length} elements in the baseline, {current.Length} now")], null);
        }

        var baselineCentroid = baseline.Sum.Select(x => x / baseline.Count).ToArray();
        var currentCentroid = current.Sum.Select(x => x / current.Count).ToArray();
        var baselineNorm = Norm(baselineCentroid);
        var distance = Math.Sqrt(baselineCentroid.Zip(currentCentroid, (b, c) => (b - c) * (b - c)).Sum());
        var cosine = Dot(baselineCentroid, currentCentroid) / (baselineNorm * Norm(currentCentroid));
        // The mean of cos(row, centroid) is (mean unit row) · (unit centroid): no row needs keeping.
        var baselineMeanCosine = Dot(baseline.UnitSum, baselineCentroid) / baseline.Count / baselineNorm;
        var currentMeanCosine = Dot(current.UnitSum, baselineCentroid) / current.Count / baselineNorm;
        var drift = !(cosine >= thresholds.CentroidCosine);
        return new FeatureDrift(key.Name, key.Group, FeatureKind.Embedding, baseline.Count, current.Count, baseline.Mismatched + current.Mismatched, drift,
            drift ? [Invariant($"centroid cosine {cosine:F3} < {thresholds.CentroidCosine}")] : [], null)
        {
            CentroidDistance = distance,
            CentroidCosine = cosine,
            BaselineMeanCosine = baselineMeanCosine,
            CurrentMeanCosine = currentMeanCosine,
        };
    }

    private static Histogram? EqualWidthHistogram(ReadOnlySpan<double> baseline, ReadOnlySpan<double> current)
    {
        if (baseline.IsEmpty || current.IsEmpty)
        {
            return null;
        }

        var low = Math.Min(baseline[0], current[0]);
        var high = Math.Max(baseline[^1], current[^1]);
        var width = (high - low) / ChartBins;
        var bins = width > 0 ? ChartBins : 1;
        return new Histogram(
            [.. Enumerable.Range(0, bins).Select(i => (low + (i * width)).ToString("G4", CultureInfo.InvariantCulture))],
            Shares(baseline, low, width, bins),
            Shares(current, low, width, bins));
    }

    private static double[] Shares(ReadOnlySpan<double> values, double low, double width, int bins)
    {
        var shares = new double[bins];
        foreach (var value in values)
        {
            var bin = width > 0 ? Math.Min(bins - 1, (int)((value - low) / width)) : 0;
            shares[bin] += 1.0 / values.Length;
        }

        return shares;
    }

    private static Histogram CategoryChart(List<string> categories, List<long> baseline, List<long> current)
    {
        double baselineTotal = Math.Max(1, baseline.Sum()), currentTotal = Math.Max(1, current.Sum());
        var order = Enumerable.Range(0, categories.Count).OrderByDescending(i => baseline[i] + current[i]).ToList();
        var shown = order.Take(ChartCategories).ToList();
        var names = shown.Select(i => categories[i]).ToList();
        var b = shown.Select(i => baseline[i] / baselineTotal).ToList();
        var c = shown.Select(i => current[i] / currentTotal).ToList();
        if (order.Count > ChartCategories)
        {
            names.Add(Invariant($"{order.Count - ChartCategories} more"));
            b.Add(order.Skip(ChartCategories).Sum(i => baseline[i]) / baselineTotal);
            c.Add(order.Skip(ChartCategories).Sum(i => current[i]) / currentTotal);
        }

        return new Histogram(names, b, c);
    }

    private static double Dot(double[] a, double[] b) => a.Zip(b, (x, y) => x * y).Sum();

    private static double Norm(double[] a) => Math.Sqrt(Dot(a, a));

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

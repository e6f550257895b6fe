namespace Serverless.Infer.Cli.Monitor;

/// <summary>The drift tests: Population Stability Index, two-sample Kolmogorov–Smirnov and chi-square homogeneity.</summary>
internal static class DriftStatistics
{
    /// <summary>The share an empty bin counts as, so that PSI stays finite when one side never falls in a bin.</summary>
    public const double EmptyBinShare = 1e-4;

    /// <summary>Σ (current − baseline) · ln(current / baseline) over bins given as counts.</summary>
    public static double Psi(ReadOnlySpan<long> baseline, ReadOnlySpan<long> current)
    {
        if (baseline.Length != current.Length)
        {
            throw new ArgumentException("the two sides need the same bins", nameof(current));
        }

        double baselineTotal = Sum(baseline), currentTotal = Sum(current);
        var psi = 0.0;
        for (var i = 0; i < baseline.Length; i++)
        {
            var b = Share(baseline[i], baselineTotal);
            var c = Share(current[i], currentTotal);
            psi += (c - b) * Math.Log(c / b);
        }

        return psi;
    }

    /// <summary>
    /// Bin edges from the baseline's quantiles (<paramref name="bins"/> equal-count bins of the sorted sample), without
    /// repeats: a bin holds the values above the previous edge up to and including its own; the last bin is open.
    /// </summary>
    public static double[] QuantileEdges(ReadOnlySpan<double> sortedBaseline, int bins)
    {
        var edges = new List<double>(bins);
        for (var i = 1; i < bins && sortedBaseline.Length > 0; i++)
        {
            var edge = sortedBaseline[Math.Min(sortedBaseline.Length - 1, (int)((long)i * sortedBaseline.Length / bins))];
            if (edges.Count == 0 || edge > edges[^1])
            {
                edges.Add(edge);
            }
        }

        return [.. edges];
    }

    /// <summary>Counts of a sorted sample in the bins <paramref name="edges"/> make (edges.Length + 1 bins).</summary>
    public static long[] BinCounts(ReadOnlySpan<double> sorted, ReadOnlySpan<double> edges)
    {
        var counts = new long[edges.Length + 1];
        var bin = 0;
        foreach (var value in sorted)
        {
            while (bin < edges.Length && value > edges[bin])
            {
                bin++;
            }

            counts[bin]++;
        }

        return counts;
    }

    /// <summary>The two-sample Kolmogorov–Smirnov statistic D (largest gap between the empirical CDFs) of two sorted samples.</summary>
    public static double KolmogorovSmirnov(ReadOnlySpan<double> sortedA, ReadOnlySpan<double> sortedB)
    {
        if (sortedA.IsEmpty || sortedB.IsEmpty)
        {
            return 0;
        }

        int i = 0, j = 0;
        var d = 0.0;
        while (i < sortedA.Length && j < sortedB.Length)
        {
            // Step past every copy of the smaller value on both sides before comparing, so ties do not open false gaps.
            var value = Math.Min(sortedA[i], sortedB[j]);
            while (i < sortedA.Length && sortedA[i] <= value)
            {
                i++;
            }

            while (j < sortedB.Length && sortedB[j] <= value)
            {
                j++;
            }

            d = Math.Max(d, Math.Abs(((double)i / sortedA.Length) - ((double)j / sortedB.Length)));
        }

        return d;
    }

    /// <summary>The asymptotic p-value of D for samples of <paramref name="n"/> and <paramref name="m"/> values (Stephens' correction).</summary>
    public static double KolmogorovSmirnovPValue(double d, long n, long m)
    {
        if (n == 0 || m == 0)
        {
            return 1;
        }

        var effective = Math.Sqrt((double)n * m / (n + m));
        var lambda = (effective + 0.12 + (0.11 / effective)) * d;
        return KolmogorovTail(lambda);
    }

    /// <summary>Q_KS(λ) = 2 Σ (−1)^(j−1) e^(−2 j² λ²), the Kolmogorov distribution's upper tail.</summary>
    public static double KolmogorovTail(double lambda)
    {
        if (lambda < 1e-3)
        {
            return 1;
        }

        var sum = 0.0;
        var sign = 1.0;
        for (var j = 1; j <= 100; j++)
        {
            var term = sign * Math.Exp(-2.0 * j * j * lambda * lambda);
            sum += term;
            // <= : for a large λ every term underflows to 0, and so does the tail.
            if (Math.Abs(term) <= 1e-12 * Math.Abs(sum))
            {
                return Math.Clamp(2 * sum, 0, 1);
            }

            sign = -sign;
        }

        // The series does not settle for tiny λ: the samples are indistinguishable.
        return 1;
    }

    /// <summary>
    /// Chi-square test of homogeneity of a 2 × k table (baseline and current counts per category): the statistic,
    /// its degrees of freedom (k − 1 over the categories either side has) and its p-value.
    /// </summary>
    public static (double Statistic, int DegreesOfFreedom, double PValue) ChiSquare(ReadOnlySpan<long> baseline, ReadOnlySpan<long> current)
    {
        if (baseline.Length != current.Length)
        {
            throw new ArgumentException("the two sides need the same categories", nameof(current));
        }

        double baselineTotal = Sum(baseline), currentTotal = Sum(current);
        var total = baselineTotal + currentTotal;
        var statistic = 0.0;
        var categories = 0;
        for (var i = 0; i < baseline.Length; i++)
        {
            double column = baseline[i] + current[i];
            if (column == 0)
            {
                continue;
            }

            categories++;
            var expectedBaseline = baselineTotal * column / total;
            var expectedCurrent = currentTotal * column / total;
            statistic += Square(baseline[i] - expectedBaseline) / expectedBaseline;
            statistic += Square(current[i] - expectedCurrent) / expectedCurrent;
        }

        var freedom = categories - 1;
        return freedom < 1 || baselineTotal == 0 || currentTotal == 0 ? (0, Math.Max(0, freedom), 1) : (statistic, freedom, ChiSquareTail(statistic, freedom));
    }

    /// <summary>P(X ≥ x) for X chi-square with <paramref name="freedom"/> degrees: the regularized upper incomplete gamma Q(k/2, x/2).</summary>
    public static double ChiSquareTail(double x, int freedom) => x <= 0 ? 1 : UpperRegularizedGamma(freedom / 2.0, x / 2.0);

    private static double UpperRegularizedGamma(double a, double x)
    {
        if (x < a + 1)
        {
            // The series for P(a, x) converges quickly here.
            double term = 1 / a, sum = term;
            for (var n = 1; n < 1000; n++)
            {
                term *= x / (a + n);
                sum += term;
                if (Math.Abs(term) < Math.Abs(sum) * 1e-15)
                {
                    break;
                }
            }

            return Math.Clamp(1 - (sum * Math.Exp(-x + (a * Math.Log(x)) - LogGamma(a))), 0, 1);
        }

        // The continued fraction for Q(a, x) (modified Lentz).
        const double Tiny = 1e-300;
        double b = x + 1 - a, c = 1 / Tiny, d = 1 / b, h = d;
        for (var i = 1; i < 1000; i++)
        {
            var an = -i * (i - a);
            b += 2;
            d = (an * d) + b;
            d = Math.Abs(d) < Tiny ? Tiny : d;
            c = b + (an / c);
            c = Math.Abs(c) < Tiny ? Tiny : c;
            d = 1 / d;
            var delta = d * c;
            h *= delta;
            if (Math.Abs(delta - 1) < 1e-15)
            {
                break;
            }
        }

        return Math.Clamp(Math.Exp(-x + (a * Math.Log(x)) - LogGamma(a)) * h, 0, 1);
    }

    /// <summary>ln Γ(x) for x &gt; 0 (Lanczos, g = 7, nine terms: about 15 significant digits).</summary>
    private static double LogGamma(double x)
    {
        ReadOnlySpan<double> coefficients =
        [
            0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
            12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
        ];
        if (x < 0.5)
        {
            return Math.Log(Math.PI / Math.Sin(Math.PI * x)) - LogGamma(1 - x);
        }

        x -= 1;
        var sum = coefficients[0];
        for (var i = 1; i < coefficients.Length; i++)
        {
            sum += coefficients[i] / (x + i);
        }

        var t = x + 7.5;
        return (0.5 * Math.Log(2 * Math.PI)) + ((x + 0.5) * Math.Log(t)) - t + Math.Log(sum);
    }

    private static double Share(long count, double total) => total == 0 || count == 0 ? EmptyBinShare : count / total;

    private static double Sum(ReadOnlySpan<long> counts)
    {
        var sum = 0.0;
        foreach (var count in counts)
        {
            sum += count;
        }

        return sum;
    }

    private static double Square(double x) => x * x;
}

namespace Serverless.Infer.Cli.Monitor;

/// <summary>What one source showed of one feature, in bounded memory whatever the number of rows.</summary>
internal abstract class FeatureProfile
{
    /// <summary>Numeric vectors of at least this many elements are embeddings, compared as a whole (minilm's 384).</summary>
    public const int EmbeddingMinLength = 33;

    /// <summary>Values that had the feature's name but not its shape (a string where numbers came before, another length).</summary>
    public long Mismatched { get; private set; }

    public abstract long Count { get; }

    public void CountMismatch() => Mismatched++;
}

/// <summary>A number: exact count, mean and range, and a <see cref="Reservoir"/> for the distribution.</summary>
internal sealed class NumericProfile : FeatureProfile
{
    private double _sum;

    public Reservoir Sample { get; } = new();

    public override long Count => Sample.Seen;

    public double Min { get; private set; } = double.PositiveInfinity;

    public double Max { get; private set; } = double.NegativeInfinity;

    public double Mean => Count == 0 ? double.NaN : _sum / Count;

    public void Add(double value)
    {
        if (!double.IsFinite(value))
        {
            CountMismatch();
            return;
        }

        Sample.Add(value);
        _sum += value;
        Min = Math.Min(Min, value);
        Max = Math.Max(Max, value);
    }
}

/// <summary>
/// A string: counts of at most <see cref="CategoryCap"/> distinct values (more fall in <see cref="Other"/>), beside the
/// categories the baseline already knows, which are always counted; and a reservoir of lengths, for text.
/// </summary>
internal sealed class StringProfile(IReadOnlySet<string>? known) : FeatureProfile
{
    public const int CategoryCap = 100;

    private readonly Dictionary<string, long> _counts = new(StringComparer.Ordinal);
    private long _count;

    public IReadOnlyDictionary<string, long> Categories => _counts;

    /// <summary>Values past the cap: the feature has too many distinct values to be a category.</summary>
    public long Other { get; private set; }

    public bool Overflowed => Other > 0;

    public Reservoir Lengths { get; } = new();

    public override long Count => _count;

    public void Add(string value, int length)
    {
        _count++;
        Lengths.Add(length);
        if (_counts.TryGetValue(value, out var count))
        {
            _counts[value] = count + 1;
        }
        else if (_counts.Count < CategoryCap || known?.Contains(value) == true)
        {
            _counts[value] = 1;
        }
        else
        {
            Other++;
        }
    }
}

/// <summary>
/// A long numeric vector: the sum of the vectors (for the centroid) and the sum of their unit vectors, whose mean dotted
/// with a unit centroid is the mean cosine of the rows to that centroid, so no row is kept.
/// </summary>
internal sealed class EmbeddingProfile(int length) : FeatureProfile
{
    private long _count;

    public double[] Sum { get; } = new double[length];

    public double[] UnitSum { get; } = new double[length];

    public int Length => Sum.Length;

    public override long Count => _count;

    public void Add(ReadOnlySpan<double> vector)
    {
        if (vector.Length != Sum.Length)
        {
            CountMismatch();
            return;
        }

        var norm = 0.0;
        foreach (var x in vector)
        {
            norm += x * x;
        }

        norm = Math.Sqrt(norm);
        for (var i = 0; i < vector.Length; i++)
        {
            Sum[i] += vector[i];
            if (norm > 0)
            {
                UnitSum[i] += vector[i] / norm;
            }
        }

        _count++;
    }
}

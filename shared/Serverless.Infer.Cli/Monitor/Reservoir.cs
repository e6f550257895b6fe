namespace Serverless.Infer.Cli.Monitor;

/// <summary>
/// A uniform sample of at most <see cref="Capacity"/> values of a stream (Vitter's algorithm R, seeded so runs repeat).
/// Below the capacity it holds every value; above it, by the DKW inequality its empirical CDF is within
/// ε = √(ln(2/α) / 2k) of the stream's everywhere with probability 1 − α: with k = 16,384, ±0.011 at 95 %.
/// </summary>
internal sealed class Reservoir(int capacity = Reservoir.DefaultCapacity, int seed = 17)
{
    public const int DefaultCapacity = 16_384;

    private readonly double[] _values = new double[capacity];
    private readonly Random _random = new(seed);
    private bool _sorted;

    public int Capacity => _values.Length;

    /// <summary>Every value offered, kept or not.</summary>
    public long Seen { get; private set; }

    public int Count => (int)Math.Min(Seen, _values.Length);

    public void Add(double value)
    {
        _sorted = false;
        if (Seen < _values.Length)
        {
            _values[Seen++] = value;
            return;
        }

        var slot = _random.NextInt64(++Seen);
        if (slot < _values.Length)
        {
            _values[slot] = value;
        }
    }

    /// <summary>The sample in ascending order (sorted in place once per batch of additions).</summary>
    public ReadOnlySpan<double> Sorted()
    {
        var sample = _values.AsSpan(0, Count);
        if (!_sorted)
        {
            sample.Sort();
            _sorted = true;
        }

        return sample;
    }
}

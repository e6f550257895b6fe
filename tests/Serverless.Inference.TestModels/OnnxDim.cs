namespace Serverless.Inference.TestModels;

/// <summary>
/// One dimension of a declared tensor shape: a fixed size (converts from <see cref="long"/>)
/// or a symbolic, dynamic one (converts from <see cref="string"/>). <c>default</c> is an unknown dimension.
/// </summary>
public readonly record struct OnnxDim
{
    private OnnxDim(long? value, string? symbol)
    {
        Value = value;
        Symbol = symbol;
    }

    public long? Value { get; }

    public string? Symbol { get; }

    public static OnnxDim Fixed(long value)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(value);
        return new OnnxDim(value, null);
    }

    public static OnnxDim Symbolic(string symbol)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(symbol);
        return new OnnxDim(null, symbol);
    }

    public static implicit operator OnnxDim(long value) => Fixed(value);

    public static implicit operator OnnxDim(string symbol) => Symbolic(symbol);

    public override string ToString() => Symbol ?? Value?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?";
}

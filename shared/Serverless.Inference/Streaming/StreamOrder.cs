using System.Buffers;

namespace Serverless.Inference.Streaming;

/// <summary>
/// Whether a record comes after the last one its partition key has seen. Positions that are both decimal integers (Kinesis
/// sequence numbers, line numbers) compare as numbers; other positions (CloudEvent ids) carry no order, so the
/// timestamps do. A record at the key's last position is a repeat, never after it.
/// </summary>
internal static class StreamOrder
{
    private static readonly SearchValues<char> Digits = SearchValues.Create("0123456789");

    public static bool Follows(StreamRecord record, StreamKeyState state)
    {
        if (state.LastPosition is not { } last)
        {
            return true;
        }

        if (string.Equals(record.Position, last, StringComparison.Ordinal))
        {
            return false;
        }

        if (IsNumber(record.Position) && IsNumber(last))
        {
            return CompareNumbers(record.Position, last) > 0;
        }

        return state.LastTimestamp is not { } lastTime || record.Timestamp >= lastTime;
    }

    private static bool IsNumber(string position) => position.Length > 0 && !position.AsSpan().ContainsAnyExcept(Digits);

    private static int CompareNumbers(string a, string b)
    {
        var x = a.AsSpan().TrimStart('0');
        var y = b.AsSpan().TrimStart('0');
        return x.Length != y.Length ? x.Length.CompareTo(y.Length) : x.SequenceCompareTo(y);
    }
}

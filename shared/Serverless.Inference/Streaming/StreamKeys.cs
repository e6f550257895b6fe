using System.Security.Cryptography;
using System.Text;

namespace Serverless.Inference.Streaming;

/// <summary>
/// The store keys streaming writes. Nothing from an event reaches a key unchecked: a partition key is always hashed, a
/// source or position is used as it is only when it is a short run of letters, digits, '.' and '_' (a source may also
/// hold '-'), and is otherwise replaced by <c>~</c> and a hash, which no kept text can look like.
/// </summary>
internal static class StreamKeys
{
    public const string PredictionsFolder = "predictions";
    public const string StateFolder = "stream-state";
    private const int MaxKeptLength = 100;

    /// <summary><c>predictions/&lt;model&gt;/yyyy/MM/dd/HH/&lt;source&gt;-&lt;first&gt;-&lt;last&gt;.jsonl</c>, at the UTC hour of the first record.</summary>
    public static string Predictions(string model, string source, StreamRecord first, StreamRecord last) =>
        $"{PredictionsFolder}/{model}/{Hour(first.Timestamp)}/{RunName(source, first, last)}.jsonl";

    /// <summary>Marks that the alerts of the predictions object of the same run were sent.</summary>
    public static string AlertsSent(string model, string source, StreamRecord first, StreamRecord last) =>
        $"{StateFolder}/{model}/alerts-sent/{Hour(first.Timestamp)}/{RunName(source, first, last)}";

    /// <summary>The folder of a partition key's state generations.</summary>
    public static string KeyFolder(string model, string partitionKey) => $"{StateFolder}/{model}/{Hash(partitionKey)}/";

    public static string Generation(string keyFolder, long generation) => $"{keyFolder}{generation:D12}.json";

    /// <summary>The generation a key in <see cref="KeyFolder"/> names, or null for any other object.</summary>
    public static long? GenerationOf(string keyFolder, string key)
    {
        if (!key.StartsWith(keyFolder, StringComparison.Ordinal) || !key.EndsWith(".json", StringComparison.Ordinal))
        {
            return null;
        }

        var number = key.AsSpan(keyFolder.Length, key.Length - keyFolder.Length - ".json".Length);
        return number.Length == 12 && long.TryParse(number, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var generation)
            ? generation
            : null;
    }

    /// <summary>A source, then the first and last positions: positions never hold '-', so the name reads back one way only.</summary>
    public static string RunName(string source, StreamRecord first, StreamRecord last) =>
        $"{Segment(source, allowDash: true)}-{Segment(first.Position, allowDash: false)}-{Segment(last.Position, allowDash: false)}";

    public static string Segment(string text, bool allowDash) =>
        IsKept(text, allowDash) ? text : "~" + Hash(text);

    /// <summary>The first 128 bits of the SHA-256 of the text, in lower-case hex.</summary>
    public static string Hash(string text) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)).AsSpan(0, 16));

    private static string Hour(DateTimeOffset timestamp)
    {
        var utc = timestamp.UtcDateTime;
        return utc.ToString("yyyy'/'MM'/'dd'/'HH", System.Globalization.CultureInfo.InvariantCulture);
    }

    private static bool IsKept(string text, bool allowDash)
    {
        if (text.Length is 0 or > MaxKeptLength || text[0] == '.')
        {
            return false;
        }

        foreach (var c in text)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' || (allowDash && c == '-')))
            {
                return false;
            }
        }

        return true;
    }
}

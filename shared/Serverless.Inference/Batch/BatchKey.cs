using System.Text;
using Serverless.Inference.Repository;

namespace Serverless.Inference.Batch;

/// <summary>
/// The batch layout every store keeps: <c>incoming/&lt;model&gt;[/&lt;version&gt;]/&lt;file&gt;</c> in,
/// <c>outgoing/...</c> for results and summaries, <c>failed/...</c> for files that could not be scored.
/// Output never goes under <c>incoming/</c>, so it never triggers another run. Model and version names keep
/// <see cref="ModelNames"/>' strict rule; the file name may be anything <see cref="BatchKeyRule"/> accepts, up to
/// <see cref="MaxFileNameBytes"/>. Output keys append to the file name, so distinct inputs never share an output.
/// </summary>
public sealed record BatchKey(string Model, string? Version, string FileName)
{
    public const string Incoming = "incoming";
    public const string Outgoing = "outgoing";
    public const string Failed = "failed";

    /// <summary>Objects rows refer to (<c>image_key</c>) may live here: never scored, never swept.</summary>
    internal const string AttachmentsFolder = "_attachments";

    /// <summary>Where refused inputs are set aside, each under a name derived from its key.</summary>
    internal const string RefusedFolder = "_refused";

    /// <summary>
    /// A file name's limit in UTF-8 bytes: with the longest suffix the layout adds (<c>.&lt;run&gt;.results.jsonl</c>, 27
    /// bytes) and a unique suffix it stays under a local file system's 255-byte name limit.
    /// </summary>
    internal const int MaxFileNameBytes = 200;

    private const int MaxEscapedLength = 120;

    /// <summary>Parses an incoming key; null with the rule it breaks when it is not one.</summary>
    public static BatchKey? TryParse(string key, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(key);
        problem = null;
        if (BatchKeyRule.Problem(key) is { } unsafeKey)
        {
            problem = $"'{ModelNames.Printable(key)}' is refused: {unsafeKey}";
            return null;
        }

        var segments = key.Split('/');
        if (segments is not [Incoming, _, _] and not [Incoming, _, _, _])
        {
            problem = $"'{ModelNames.Printable(key)}' is not {Incoming}/<model>[/<version>]/<file>";
            return null;
        }

        if (segments[1..^1].FirstOrDefault(name => !ModelNames.IsValid(name)) is { } invalid)
        {
            problem = $"'{ModelNames.Printable(invalid)}' in '{ModelNames.Printable(key)}' is not a model or version name: it must match {ModelNames.Rule} and not contain '..'";
            return null;
        }

        var fileName = segments[^1];
        if (Encoding.UTF8.GetByteCount(fileName) > MaxFileNameBytes)
        {
            problem = $"the file name in '{ModelNames.Printable(key)}' is over {MaxFileNameBytes} UTF-8 bytes";
            return null;
        }

        return segments.Length == 3
            ? new BatchKey(segments[1], null, fileName)
            : new BatchKey(segments[1], segments[2], fileName);
    }

    /// <summary>Keys under <c>incoming/_attachments/</c>: objects rows refer to, not batch inputs.</summary>
    internal static bool IsAttachment(string key) =>
        key.StartsWith($"{Incoming}/{AttachmentsFolder}/", StringComparison.Ordinal);

    /// <summary>
    /// Where a refused input is set aside: <c>failed/_refused/&lt;hash&gt;-&lt;escaped key&gt;</c>. The hash of the whole key
    /// keeps distinct keys apart; the escaped, shortened rest (everything but ASCII letters, digits, '.', '_' and '-' as
    /// %XX of its UTF-8) lets a person recognise the file.
    /// </summary>
    public static string RefusedKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var rest = key.StartsWith(Incoming + "/", StringComparison.Ordinal) ? key[(Incoming.Length + 1)..] : key;
        var escaped = new StringBuilder();
        Span<byte> utf8 = stackalloc byte[4];
        foreach (var rune in rest.EnumerateRunes())
        {
            string part;
            if (rune.IsAscii && (char.IsAsciiLetterOrDigit((char)rune.Value) || rune.Value is '.' or '_' or '-'))
            {
                part = ((char)rune.Value).ToString();
            }
            else
            {
                var length = rune.EncodeToUtf8(utf8);
                part = string.Concat(utf8[..length].ToArray().Select(b => $"%{b:X2}"));
            }

            if (escaped.Length + part.Length > MaxEscapedLength)
            {
                break;
            }

            escaped.Append(part);
        }

        return $"{Failed}/{RefusedFolder}/{Short(key)}-{escaped}";
    }

    public string IncomingKey => Under(Incoming, FileName);

    /// <param name="run">Names the (input identity, model identity) pair, so a rerun of the same pair finds its result.</param>
    public string ResultsKey(string run, BatchFormat format) => Under(Outgoing, $"{FileName}.{run}.results.{format.Extension()}");

    internal string SummaryKey(string run) => Under(Outgoing, $"{FileName}.{run}.summary.json");

    public string FailedKey => Under(Failed, FileName);

    public string AttemptsKey(string inputIdentity) => Under(Failed, $"{FileName}.{Short(inputIdentity)}.attempts");

    internal static string Short(string text) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(text)).AsSpan(0, 6));

    private string Under(string root, string fileName) =>
        Version is null ? $"{root}/{Model}/{fileName}" : $"{root}/{Model}/{Version}/{fileName}";
}

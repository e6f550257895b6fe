using Serverless.Inference.Repository;

namespace Serverless.Inference.Batch;

/// <summary>
/// The batch layout every store keeps: <c>incoming/&lt;model&gt;[/&lt;version&gt;]/&lt;file&gt;</c> in,
/// <c>outgoing/...</c> for results and summaries, <c>failed/...</c> for files that could not be scored.
/// Output never goes under <c>incoming/</c>, so it never triggers another run.
/// </summary>
public sealed record BatchKey(string Model, string? Version, string FileName)
{
    public const string Incoming = "incoming";
    public const string Outgoing = "outgoing";
    public const string Failed = "failed";

    /// <summary>Parses an incoming key; null with a reason when it is not one or a segment breaks the name rule.</summary>
    public static BatchKey? TryParse(string key, out string? problem)
    {
        var segments = key.Split('/');
        problem = null;
        if (segments is not [Incoming, _, _] and not [Incoming, _, _, _])
        {
            problem = $"'{ModelNames.Printable(key)}' is not {Incoming}/<model>[/<version>]/<file>";
            return null;
        }

        var invalid = segments[1..^1].FirstOrDefault(name => !ModelNames.IsValid(name))
            ?? (ModelNames.IsValidFileName(segments[^1]) ? null : segments[^1]);
        if (invalid is not null)
        {
            problem = $"'{ModelNames.Printable(invalid)}' in '{ModelNames.Printable(key)}' must match {ModelNames.Rule} and not contain '..'";
            return null;
        }

        return segments.Length == 3
            ? new BatchKey(segments[1], null, segments[2])
            : new BatchKey(segments[1], segments[2], segments[3]);
    }

    public string IncomingKey => Under(Incoming, FileName);

    /// <param name="run">Names the (input identity, model identity) pair, so a rerun of the same pair finds its result.</param>
    public string ResultsKey(string run, BatchFormat format) => Under(Outgoing, $"{FileName}.{run}.results.{format.Extension()}");

    public string SummaryKey(string run) => Under(Outgoing, $"{FileName}.{run}.summary.json");

    public string FailedKey => Under(Failed, FileName);

    public string AttemptsKey(string inputIdentity) => Under(Failed, $"{FileName}.{Short(inputIdentity)}.attempts");

    internal static string Short(string text) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)).AsSpan(0, 6));

    private string Under(string root, string fileName) =>
        Version is null ? $"{root}/{Model}/{fileName}" : $"{root}/{Model}/{Version}/{fileName}";
}

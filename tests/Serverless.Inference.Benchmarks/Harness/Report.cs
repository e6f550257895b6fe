using System.Globalization;
using System.Runtime;
using System.Runtime.InteropServices;

namespace Serverless.Inference.Benchmarks.Harness;

/// <summary>Plain console output: a title per figure, a table of medians, and ratio lines.</summary>
internal static class Report
{
    private const int LabelWidth = 46;

    public static void Header()
    {
        Console.WriteLine(Invariant($"Serverless.Inference benchmarks — {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC"));
        var gc = GCSettings.IsServerGC ? "server" : "workstation";
        Console.WriteLine(Invariant(
            $"{RuntimeInformation.OSDescription}, {RuntimeInformation.ProcessArchitecture}, {Environment.ProcessorCount} cores, {RuntimeInformation.FrameworkDescription}, {gc} GC"));
#if DEBUG
        Console.WriteLine("WARNING: a Debug build; run with -c Release for figures worth quoting.");
#endif
    }

    public static void Title(string title, string detail)
    {
        Console.WriteLine();
        Console.WriteLine("== " + title + " ==");
        Console.WriteLine(detail);
        if (LoadAverage() is { } load)
        {
            Console.WriteLine("machine load average (1, 5, 15 min): " + load + " — other processes on these cores skew absolute figures; ratios are measured interleaved");
        }
    }

    /// <summary>The system load average where the OS tells it (Linux), else null.</summary>
    public static string? LoadAverage()
    {
        try
        {
            var fields = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ') : [];
            return fields.Length >= 3 ? string.Join(", ", fields[..3]) : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    public static void Line(FormattableString text) => Console.WriteLine(Invariant(text));

    /// <summary>A table header for rows of <see cref="Row"/>.</summary>
    public static void Columns(string unit)
    {
        Console.WriteLine(Invariant($"{"",-LabelWidth} {"median " + unit,14} {"p10",10} {"p90",10} {"n",6}"));
    }

    public static void Row(string label, IReadOnlyCollection<double> samples, string format = "F2")
    {
        ArgumentNullException.ThrowIfNull(samples);
        var median = Stats.Median(samples).ToString(format, CultureInfo.InvariantCulture);
        var p10 = Stats.Percentile(samples, 0.1).ToString(format, CultureInfo.InvariantCulture);
        var p90 = Stats.Percentile(samples, 0.9).ToString(format, CultureInfo.InvariantCulture);
        Console.WriteLine(Invariant($"{label,-LabelWidth} {median,14} {p10,10} {p90,10} {samples.Count,6}"));
    }

    /// <summary>A ratio line; the verdict says whether it meets its target.</summary>
    public static void Ratio(string name, double ratio, string? target = null, bool? met = null)
    {
        var verdict = met switch
        {
            true => "  ok",
            false => "  MISSED",
            null => "",
        };
        Console.WriteLine(Invariant($"ratio ({name}) = {ratio:F2}") + (target is null ? "" : $" (target {target}){verdict}"));
    }

    public static string Invariant(FormattableString text) => FormattableString.Invariant(text);
}

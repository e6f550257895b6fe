using System.Globalization;
using System.Runtime;
using System.Text.Json;
using System.Text.RegularExpressions;
using Serverless.Infer.Cli.Monitor;
using Serverless.Inference.Benchmarks.Harness;
using Serverless.Inference.Tests.Monitoring.Support;

namespace Serverless.Inference.Benchmarks.Figures;

/// <summary>
/// <c>infer monitor</c> over 100,000 and 1,000,000 captured iris rows (the capture record format, 50,000 rows an object)
/// against a 100,000-row baseline: time and peak resident memory of a fresh process per run, which must stay flat as
/// the window grows. The baseline in the same run: a process that only reads and parses the same lines (JsonDocument),
/// the floor any JSON-lines reader pays.
/// </summary>
internal static partial class MonitorScale
{
    public const string ChildCommand = "monitor-rss-child";
    private const int BaselineRows = 100_000;
    private const int Small = 100_000;
    private const int Large = 1_000_000;
    private const int Repetitions = 3;

    public static async Task RunAsync()
    {
        var program = typeof(MonitorScale).Assembly.Location;
        Report.Title(
            "monitor-scale: infer monitor over 100,000 vs 1,000,000 captured iris rows (baseline window 100,000 rows)",
            Report.Invariant($"each child: dotnet {Path.GetFileName(program)} {ChildCommand} <monitor|parse> <baseline> <current> — monitor: MonitorCommand.RunAsync (both windows read once, reports written);") + Environment.NewLine +
            Report.Invariant($"parse: every line of both windows read and parsed by JsonDocument, nothing kept. Peak RSS is VmHWM from /proc/self/status. {Repetitions} children per size and mode, alternating; medians."));
        if (ScoringHarness.ResidentSet() is null)
        {
            Report.Line($"no /proc/self/status here: this figure needs Linux");
            return;
        }

        var folder = Directory.CreateTempSubdirectory("infer-bench-monitor-");
        try
        {
            var baseline = Path.Combine(folder.FullName, "baseline");
            var small = Path.Combine(folder.FullName, "small");
            var large = Path.Combine(folder.FullName, "large");
            var start = new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);
            IrisCapture.WriteWindow(baseline, start, BaselineRows, seed: 1, IrisShift.None);
            IrisCapture.WriteWindow(small, start.AddDays(1), Small, seed: 2, new IrisShift(Feature0: 0.8, SetosaShare: 0.6));
            IrisCapture.WriteWindow(large, start.AddDays(1), Large, seed: 3, new IrisShift(Feature0: 0.8, SetosaShare: 0.6));
            Report.Line($"windows: {Size(baseline):F1} MiB baseline, {Size(small):F1} MiB and {Size(large):F1} MiB current");

            var dotnet = ScoringHarness.DotnetHost();
            var runs = new Dictionary<(string Mode, int Rows), List<Child>>();
            for (var i = 0; i < Repetitions; i++)
            {
                foreach (var (mode, rows, window) in i % 2 == 0
                    ? new[] { ("monitor", Small, small), ("monitor", Large, large), ("parse", Small, small), ("parse", Large, large) }
                    : [("parse", Large, large), ("parse", Small, small), ("monitor", Large, large), ("monitor", Small, small)])
                {
                    var child = await RunChildAsync(dotnet, program, mode, baseline, window);
                    if (mode == "monitor" && child.Records != rows)
                    {
                        throw new InvalidOperationException(Report.Invariant($"monitor read {child.Records} current records of {rows}"));
                    }

                    (runs.TryGetValue((mode, rows), out var list) ? list : runs[(mode, rows)] = []).Add(child);
                }
            }

            Console.WriteLine();
            Report.Columns("");
            foreach (var ((mode, rows), children) in runs.OrderBy(r => r.Key.Mode).ThenBy(r => r.Key.Rows))
            {
                var label = Report.Invariant($"{mode} {rows:N0} rows");
                Report.Row(label + ": seconds", [.. children.Select(c => c.Seconds)]);
                Report.Row(label + ": rows/s, both windows", [.. children.Select(c => (rows + BaselineRows) / c.Seconds)], "N0");
                Report.Row(label + ": peak RSS MiB", [.. children.Select(c => c.PeakKiB / 1024.0)], "F1");
            }

            double Median(string mode, int rows, Func<Child, double> value) => Stats.Median([.. runs[(mode, rows)].Select(value)]);
            var flat = Median("monitor", Large, c => c.PeakKiB) / Median("monitor", Small, c => c.PeakKiB);
            Report.Ratio(Report.Invariant($"monitor peak RSS, {Large:N0} / {Small:N0} rows"), flat, "<= 1.2", flat <= 1.2);
            Report.Ratio(Report.Invariant($"monitor time / parse-only time, {Large:N0} rows"), Median("monitor", Large, c => c.Seconds) / Median("parse", Large, c => c.Seconds));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    /// <summary>The child: <c>monitor-rss-child &lt;monitor|parse&gt; &lt;baseline&gt; &lt;current&gt;</c>; prints one line of key=value pairs.</summary>
    public static async Task<int> RunChildAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Length != 4 || args[1] is not ("monitor" or "parse"))
        {
            await Console.Error.WriteLineAsync($"usage: {ChildCommand} <monitor|parse> <baseline> <current>");
            return 2;
        }

        var output = Directory.CreateTempSubdirectory("infer-bench-monitor-out-");
        try
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            long records;
            if (args[1] == "monitor")
            {
                var none = new RecordFilter(null, null, null, null);
                var settings = new MonitorSettings(args[2], args[3], none, none, output, new DriftThresholds());
                var exit = await MonitorCommand.RunAsync(settings, CancellationToken.None);
                if (exit != MonitorExitCodes.Drift)
                {
                    await Console.Error.WriteLineAsync(Report.Invariant($"infer monitor exited {exit}; the windows differ, so 3 was expected"));
                    return 1;
                }

                using var report = JsonDocument.Parse(await File.ReadAllBytesAsync(Path.Combine(output.FullName, "report.json")));
                records = report.RootElement.GetProperty("current").GetProperty("records").GetInt64();
            }
            else
            {
                records = ParseOnly(args[2]) + ParseOnly(args[3]);
            }

            var seconds = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds;
            var memory = ScoringHarness.ResidentSet() ?? throw new InvalidOperationException("no /proc/self/status");
            Console.WriteLine(Report.Invariant(
                $"monitor-child records={records} seconds={seconds:F3} gc={(GCSettings.IsServerGC ? "server" : "workstation")} hwm_kb={memory.PeakKiB} rss_kb={memory.RssKiB}"));
            return 0;
        }
        finally
        {
            output.Delete(recursive: true);
        }
    }

    private static long ParseOnly(string folder)
    {
        var lines = 0L;
        foreach (var file in Directory.EnumerateFiles(folder, "*.jsonl", SearchOption.AllDirectories))
        {
            foreach (var line in File.ReadLines(file))
            {
                using var document = JsonDocument.Parse(line);
                lines += document.RootElement.ValueKind == JsonValueKind.Object ? 1 : 0;
            }
        }

        return lines;
    }

    private static async Task<Child> RunChildAsync(string dotnet, string program, string mode, string baseline, string current)
    {
        var match = await ScoringHarness.RunChildAsync(dotnet, program, ChildLine(), ChildCommand, mode, baseline, current);
        return new Child(
            long.Parse(match.Groups["records"].Value, CultureInfo.InvariantCulture),
            double.Parse(match.Groups["seconds"].Value, CultureInfo.InvariantCulture),
            long.Parse(match.Groups["hwm"].Value, CultureInfo.InvariantCulture));
    }

    private static double Size(string folder) =>
        Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length) / 1048576.0;

    [GeneratedRegex(@"monitor-child records=(?<records>\d+) seconds=(?<seconds>[\d.]+) gc=\w+ hwm_kb=(?<hwm>\d+) rss_kb=\d+")]
    private static partial Regex ChildLine();

    private sealed record Child(long Records, double Seconds, long PeakKiB);
}

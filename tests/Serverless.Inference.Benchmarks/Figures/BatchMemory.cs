using System.Globalization;
using System.Runtime;
using System.Text.RegularExpressions;
using Serverless.Inference.Batch;
using Serverless.Inference.Benchmarks.Harness;

namespace Serverless.Inference.Benchmarks.Figures;

/// <summary>
/// Figure 6: peak resident set size of a fresh process that scores 100,000 and 2,000,000 iris rows with
/// <see cref="BatchScorer"/>: memory must be bounded by the micro-batch, not the file. Each measurement is
/// a child process running this program's hidden <c>batch-rss-child</c> command.
/// </summary>
internal static partial class BatchMemory
{
    public const string ChildCommand = "batch-rss-child";
    private const int Small = 100_000;
    private const int Large = 2_000_000;
    private const int Repetitions = 3;
    private const int Seed = 7;

    public static async Task RunAsync()
    {
        var program = typeof(BatchMemory).Assembly.Location;
        Report.Title(
            "batch-memory: iris, peak RSS of a fresh process scoring 100,000 vs 2,000,000 rows",
            Report.Invariant($"each child: dotnet {Path.GetFileName(program)} {ChildCommand} <rows> <csv|jsonl> — streams its input file to disk (seed {Seed}), GC.Collect, loads iris, BatchScorer (the model's default micro-batch) to a file,") + Environment.NewLine +
            Report.Invariant($"then reports VmHWM (peak RSS over its whole life) and VmRSS from /proc/self/status. {Repetitions} children per size and format, alternating small/large; medians."));
        if (ScoringHarness.ResidentSet() is null)
        {
            Report.Line($"no /proc/self/status here: this figure needs Linux");
            return;
        }

        var dotnet = ScoringHarness.DotnetHost();
        foreach (var format in new[] { "csv", "jsonl" })
        {
            var small = new List<Child>();
            var large = new List<Child>();
            for (var i = 0; i < Repetitions; i++)
            {
                if (i % 2 == 0)
                {
                    small.Add(await RunChildAsync(dotnet, program, Small, format));
                    large.Add(await RunChildAsync(dotnet, program, Large, format));
                }
                else
                {
                    large.Add(await RunChildAsync(dotnet, program, Large, format));
                    small.Add(await RunChildAsync(dotnet, program, Small, format));
                }
            }

            Console.WriteLine();
            var first = small[0];
            Report.Line($"{format.ToUpperInvariant()}: micro-batch {first.MicroBatch}, child GC {first.Gc}; inputs {first.InputBytes / 1048576.0:F1} MiB and {large[0].InputBytes / 1048576.0:F1} MiB; scoring took {Stats.Median([.. small.Select(c => c.Seconds)]):F1} s and {Stats.Median([.. large.Select(c => c.Seconds)]):F1} s (medians)");
            Report.Columns("MiB");
            foreach (var (label, children) in new[] { (Report.Invariant($"{Small:N0} rows"), small), (Report.Invariant($"{Large:N0} rows"), large) })
            {
                Report.Row(Report.Invariant($"{label}: peak RSS (VmHWM)"), [.. children.Select(c => c.PeakKiB / 1024.0)], "F1");
                Report.Row(Report.Invariant($"{label}: VmRSS at exit"), [.. children.Select(c => c.RssKiB / 1024.0)], "F1");
                Report.Row(Report.Invariant($"{label}: VmHWM after generation"), [.. children.Select(c => c.PeakBeforeKiB / 1024.0)], "F1");
            }

            var ratio = Stats.Median([.. large.Select(c => c.PeakKiB / 1024.0)]) / Stats.Median([.. small.Select(c => c.PeakKiB / 1024.0)]);
            Report.Ratio(Report.Invariant($"{format.ToUpperInvariant()} peak RSS, {Large:N0} / {Small:N0} rows"), ratio, "<= 1.2", ratio <= 1.2);
            var rss = Stats.Median([.. large.Select(c => c.RssKiB / 1024.0)]) / Stats.Median([.. small.Select(c => c.RssKiB / 1024.0)]);
            Report.Ratio(Report.Invariant($"{format.ToUpperInvariant()} VmRSS at exit, {Large:N0} / {Small:N0} rows"), rss);
        }
    }

    /// <summary>The child: <c>batch-rss-child &lt;rows&gt; &lt;csv|jsonl&gt;</c>; prints one line of key=value pairs.</summary>
    public static async Task<int> RunChildAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Length != 3 || !int.TryParse(args[1], CultureInfo.InvariantCulture, out var rows) || rows < 1 || args[2] is not ("csv" or "jsonl"))
        {
            await Console.Error.WriteLineAsync($"usage: {ChildCommand} <rows> <csv|jsonl>");
            return 2;
        }

        var format = args[2] == "csv" ? BatchFormat.Csv : BatchFormat.Jsonl;
        var folder = Directory.CreateTempSubdirectory("infer-bench-rss-");
        try
        {
            var input = Path.Combine(folder.FullName, "input." + format.Extension());
            IrisRows.WriteFiles(Seed, [new RowFile(input, format, rows)]);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            var before = ScoringHarness.ResidentSet() ?? throw new InvalidOperationException("no /proc/self/status");

            using var host = ScoringHarness.SampleHost();
            using var lease = await host.AcquireAsync("iris", null, CancellationToken.None);
            var (elapsed, summary) = await ScoringHarness.ScoreAsync(lease, input, Path.Combine(folder.FullName, "results." + format.Extension()), format, null);
            var after = ScoringHarness.ResidentSet() ?? throw new InvalidOperationException("no /proc/self/status");
            if (summary.RowsIn != rows || summary.RowsFailed != 0)
            {
                await Console.Error.WriteLineAsync(Report.Invariant($"scored {summary.RowsIn} rows of {rows}, {summary.RowsFailed} failed"));
                return 1;
            }

            Console.WriteLine(Report.Invariant(
                $"rows={summary.RowsIn} micro_batch={summary.MicroBatchSize} input_bytes={new FileInfo(input).Length} seconds={elapsed.TotalSeconds:F3} gc={(GCSettings.IsServerGC ? "server" : "workstation")} hwm_before_kb={before.PeakKiB} rss_before_kb={before.RssKiB} hwm_kb={after.PeakKiB} rss_kb={after.RssKiB}"));
            return 0;
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static async Task<Child> RunChildAsync(string dotnet, string program, int rows, string format)
    {
        var match = await ScoringHarness.RunChildAsync(dotnet, program, ChildLine(), ChildCommand, rows.ToString(CultureInfo.InvariantCulture), format);

        long Number(string name) => long.Parse(match.Groups[name].Value, CultureInfo.InvariantCulture);
        return new Child(
            (int)Number("mb"),
            match.Groups["gc"].Value,
            Number("bytes"),
            double.Parse(match.Groups["seconds"].Value, CultureInfo.InvariantCulture),
            Number("hwmBefore"),
            Number("hwm"),
            Number("rss"));
    }

    [GeneratedRegex(@"rows=\d+ micro_batch=(?<mb>\d+) input_bytes=(?<bytes>\d+) seconds=(?<seconds>[\d.]+) gc=(?<gc>\w+) hwm_before_kb=(?<hwmBefore>\d+) rss_before_kb=\d+ hwm_kb=(?<hwm>\d+) rss_kb=(?<rss>\d+)")]
    private static partial Regex ChildLine();

    private sealed record Child(int MicroBatch, string Gc, long InputBytes, double Seconds, long PeakBeforeKiB, long PeakKiB, long RssKiB);
}

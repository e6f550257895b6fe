using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.ML.OnnxRuntime;
using Serverless.Inference.Batch;
using Serverless.Inference.Benchmarks.Harness;
using Serverless.Inference.Hosting;

namespace Serverless.Inference.Benchmarks.Figures;

/// <summary>
/// Figure 5: rows per second of <see cref="BatchScorer"/> over a 1,000,000-row iris file, CSV and JSONL,
/// end to end (reading, parsing, running, writing). Baseline: <see cref="InferenceSession.Run(RunOptions, IReadOnlyCollection{string}, IReadOnlyCollection{OrtValue}, IReadOnlyCollection{string})"/>
/// on the very session the scorer uses, over the same rows already parsed, one pre-built OrtValue per
/// micro-batch, outputs discarded. Then the same comparison across micro-batch sizes.
/// </summary>
internal static class BatchThroughput
{
    private const int Rows = 1_000_000;
    private const int PrefixRows = 200_000;
    private const int MicroBatch = 256;
    private const int Rounds = 5;
    // One bare pass over 1,000,000 rows at micro-batch 256 takes well under 0.1 s, short enough for a stray stall
    // to move it; a baseline sample is the median of up to this many back-to-back passes, fewer once half a second is spent.
    private const int BarePasses = 5;
    private static readonly TimeSpan BareSampleLength = TimeSpan.FromSeconds(0.5);
    private const int SweepRounds = 3;
    private const int Seed = 42;
    private static readonly int[] SweepSizes = [1, 8, 64, MicroBatch];

    public static async Task RunAsync()
    {
        Report.Title(
            "batch: iris, BatchScorer over a 1,000,000-row file, end to end",
            Report.Invariant($"(a) BatchScorer.ScoreAsync, micro-batch {MicroBatch}, FileStream in (64 KiB, async) -> FileStream out to a temp file, timed from open to close (parse, run, write); CSV and JSONL.") + Environment.NewLine +
            Report.Invariant($"(b) baseline: InferenceSession.Run on the same session over the same rows already parsed, one pre-built OrtValue per micro-batch of {MicroBatch}, outputs disposed unread; each (b) sample is the median of up to {BarePasses} back-to-back passes (fewer once {BareSampleLength.TotalSeconds:F1} s is spent).") + Environment.NewLine +
            Report.Invariant($"{Rounds} rounds, each running b, CSV, JSONL in turn (order reversed every other round), after one untimed {PrefixRows:N0}-row run of each; files are generated once (seed {Seed}) and stay in the page cache."));

        var folder = Directory.CreateTempSubdirectory("infer-bench-batch-");
        try
        {
            await RunInAsync(folder.FullName);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static async Task RunInAsync(string folder)
    {
        var csv = Path.Combine(folder, "iris.csv");
        var jsonl = Path.Combine(folder, "iris.jsonl");
        var csvPrefix = Path.Combine(folder, "iris-prefix.csv");
        var jsonlPrefix = Path.Combine(folder, "iris-prefix.jsonl");
        var output = Path.Combine(folder, "results");
        var features = new float[Rows * IrisRows.Width];
        var generating = Stopwatch.GetTimestamp();
        IrisRows.WriteFiles(
            Seed,
            [new RowFile(csv, BatchFormat.Csv, Rows), new RowFile(jsonl, BatchFormat.Jsonl, Rows), new RowFile(csvPrefix, BatchFormat.Csv, PrefixRows), new RowFile(jsonlPrefix, BatchFormat.Jsonl, PrefixRows)],
            features);
        Report.Line($"generated in {Stopwatch.GetElapsedTime(generating).TotalSeconds:F1} s: {Rows:N0} rows, CSV {new FileInfo(csv).Length / 1048576.0:F1} MiB, JSONL {new FileInfo(jsonl).Length / 1048576.0:F1} MiB (+ {PrefixRows:N0}-row prefixes of each)");

        using var host = ScoringHarness.SampleHost();
        using var lease = await host.AcquireAsync("iris", null, CancellationToken.None);
        var session = lease.Model.Session;
        using var runOptions = new RunOptions();
        var bare = new BareRun(session, runOptions, [session.InputNames[0]], [.. lease.Model.Signature.Outputs.Select(o => o.Name)]);
        Report.Line($"iris loaded in {lease.LoadReport.Total.TotalMilliseconds:F0} ms; outputs {string.Join(", ", bare.OutputNames)}");

        using var batches = new PreBuilt(features, Rows, MicroBatch);
        CheckFirstBatchAgrees(bare, batches, await ScoringHarness.ScoreAsync(lease, csvPrefix, output + ".csv", BatchFormat.Csv, MicroBatch), output + ".csv");
        await ScoringHarness.ScoreAsync(lease, jsonlPrefix, output + ".jsonl", BatchFormat.Jsonl, MicroBatch);
        bare.Time(batches);

        var variants = new (string Label, Func<Task<Sample>> Measure)[]
        {
            (Report.Invariant($"(b) bare Run, micro-batch {MicroBatch} (baseline)"), () => Task.FromResult(new Sample(bare.Time(batches), TimeSpan.Zero))),
            (Report.Invariant($"(a) BatchScorer CSV, micro-batch {MicroBatch}"), () => ScoreAsync(lease, csv, output + ".csv", BatchFormat.Csv, MicroBatch)),
            (Report.Invariant($"(a) BatchScorer JSONL, micro-batch {MicroBatch}"), () => ScoreAsync(lease, jsonl, output + ".jsonl", BatchFormat.Jsonl, MicroBatch)),
        };
        var samples = variants.Select(_ => new List<Sample>()).ToArray();
        for (var round = 0; round < Rounds; round++)
        {
            for (var k = 0; k < variants.Length; k++)
            {
                var v = round % 2 == 0 ? k : variants.Length - 1 - k;
                GC.Collect();
                samples[v].Add(await variants[v].Measure());
                if (round == 0 && v > 0)
                {
                    CheckResults(v == 1 ? output + ".csv" : output + ".jsonl", v == 1 ? BatchFormat.Csv : BatchFormat.Jsonl, Rows);
                }
            }
        }

        var rates = samples.Select(s => s.Select(x => Rows / x.Elapsed.TotalSeconds).ToList()).ToArray();
        Report.Columns("rows/s");
        for (var v = 0; v < variants.Length; v++)
        {
            Report.Row(variants[v].Label, rates[v], "F0");
        }

        var baseline = Stats.Median(rates[0]);
        foreach (var (v, name) in new[] { (1, "CSV"), (2, "JSONL") })
        {
            var ratio = Stats.Median(rates[v]) / baseline;
            Report.Ratio(name + " scorer / bare Run, parsing and writing included", ratio, ">= 0.5", ratio >= 0.5);
            var pairs = rates[v].Zip(rates[0], (a, b) => a / b).ToList();
            Report.Line($"  per-round ratios: median {Stats.Median(pairs):F2}, min {pairs.Min():F2}, max {pairs.Max():F2}");
        }

        Report.Line($"where the scorer's time goes (medians; model = BatchSummary.ModelTime, i.e. OnnxModel.Run incl. input checks and OrtValue wrapping):");
        Report.Columns("us/row");
        Report.Row("  (b) bare Run", [.. samples[0].Select(s => PerRow(s.Elapsed, Rows))], "F2");
        foreach (var (v, name) in new[] { (1, "CSV"), (2, "JSONL") })
        {
            Report.Row(Report.Invariant($"  (a) {name}: total"), [.. samples[v].Select(s => PerRow(s.Elapsed, Rows))], "F2");
            Report.Row(Report.Invariant($"  (a) {name}: in the model"), [.. samples[v].Select(s => PerRow(s.Model, Rows))], "F2");
            Report.Row(Report.Invariant($"  (a) {name}: reading, parsing, writing"), [.. samples[v].Select(s => PerRow(s.Elapsed - s.Model, Rows))], "F2");
        }

        // Half the bare rate means the scorer's whole time per row is at most twice the bare run's.
        var bareUs = Stats.Median([.. samples[0].Select(s => PerRow(s.Elapsed, Rows))]);
        var outside = new[] { 1, 2 }.Select(v => Stats.Median([.. samples[v].Select(s => PerRow(s.Elapsed - s.Model, Rows))])).ToArray();
        Report.Line($"for a ratio of 0.5 the scorer could spend at most ~{bareUs:F2} us/row outside the model (the bare run's whole cost per row); it spends {outside[0]:F2} (CSV) and {outside[1]:F2} (JSONL)");

        await SweepAsync(lease, bare, features, csv, csvPrefix, output + ".csv");
    }

    /// <summary>The CSV scorer against the bare run at each micro-batch size, all measured here so the sizes compare like with like.</summary>
    private static async Task SweepAsync(ModelLease lease, BareRun bare, float[] features, string csv, string csvPrefix, string output)
    {
        Console.WriteLine();
        Report.Line($"micro-batch sweep, CSV: (a) BatchScorer vs (b) bare Run at the same micro-batch, {SweepRounds} rounds each alternating (ab, ba, ...); sizes under 64 use the {PrefixRows:N0}-row prefix of the same rows");
        Report.Columns("rows/s");
        var ratios = new List<(int Size, int Rows, double Ratio)>();
        foreach (var size in SweepSizes)
        {
            var rows = size < 64 ? PrefixRows : Rows;
            List<double> candidate = [], baseline = [];
            using (var batches = new PreBuilt(features, rows, size))
            {
                bare.Time(batches);
                for (var round = 0; round < SweepRounds; round++)
                {
                    for (var k = 0; k < 2; k++)
                    {
                        GC.Collect();
                        if ((round + k) % 2 == 0)
                        {
                            var sample = await ScoreAsync(lease, size < 64 ? csvPrefix : csv, output, BatchFormat.Csv, size);
                            candidate.Add(rows / sample.Elapsed.TotalSeconds);
                        }
                        else
                        {
                            baseline.Add(rows / bare.Time(batches).TotalSeconds);
                        }
                    }
                }
            }

            Report.Row(Report.Invariant($"(a) CSV scorer, mb {size,4}, {rows,9:N0} rows"), candidate, "F0");
            Report.Row(Report.Invariant($"(b) bare Run,   mb {size,4}, {rows,9:N0} rows"), baseline, "F0");
            ratios.Add((size, rows, Stats.Median(candidate) / Stats.Median(baseline)));
        }

        foreach (var (size, rows, ratio) in ratios)
        {
            Report.Ratio(Report.Invariant($"CSV scorer / bare Run, micro-batch {size}, {rows:N0} rows"), ratio);
        }
    }

    private static async Task<Sample> ScoreAsync(ModelLease lease, string input, string output, BatchFormat format, int microBatch)
    {
        var (elapsed, summary) = await ScoringHarness.ScoreAsync(lease, input, output, format, microBatch);
        if (summary.RowsFailed != 0)
        {
            throw new InvalidOperationException(Report.Invariant($"{summary.RowsFailed} of {summary.RowsIn} rows failed in {input}"));
        }

        return new Sample(elapsed, summary.ModelTime);
    }

    private static double PerRow(TimeSpan time, int rows) => time.TotalMicroseconds / rows;

    /// <summary>The whole result file: one line per row (after the CSV header), none of them an error.</summary>
    private static void CheckResults(string path, BatchFormat format, int rows)
    {
        long lines = 0, errors = 0;
        string? header = null;
        foreach (var line in File.ReadLines(path))
        {
            if (format == BatchFormat.Csv && header is null)
            {
                header = line;
                continue;
            }

            lines++;
            var ok = format == BatchFormat.Csv
                ? line.EndsWith(',')
                : line.StartsWith("{\"line\":", StringComparison.Ordinal) && line.Contains("\"outputs\":", StringComparison.Ordinal) && !line.Contains("\"error\":", StringComparison.Ordinal);
            errors += ok ? 0 : 1;
        }

        if (lines != rows || errors != 0 || (format == BatchFormat.Csv && header?.StartsWith(IrisRows.CsvHeader + ",", StringComparison.Ordinal) != true))
        {
            throw new InvalidOperationException(Report.Invariant($"{path}: {lines} result lines for {rows} rows, {errors} error rows, header '{header}'"));
        }

        Report.Line($"checked {Path.GetFileName(path)}: {lines:N0} result lines{(header is null ? "" : " + header")}, 0 error rows");
    }

    /// <summary>The scorer's first micro-batch of CSV results must be exactly the bare run's answers, formatted.</summary>
    private static void CheckFirstBatchAgrees(BareRun bare, PreBuilt batches, (TimeSpan Elapsed, BatchSummary Summary) scored, string path)
    {
        if (scored.Summary.RowsFailed != 0)
        {
            throw new InvalidOperationException(Report.Invariant($"{scored.Summary.RowsFailed} rows failed in the warm-up"));
        }

        var expected = bare.FirstBatchAsCsv(batches);
        var actual = File.ReadLines(path).Skip(1).Take(expected.Count).ToList();
        if (!actual.SequenceEqual(expected))
        {
            var at = actual.Zip(expected).TakeWhile(p => p.First == p.Second).Count();
            throw new InvalidOperationException(Report.Invariant($"the scorer and the bare run disagree at row {at + 1}: '{actual.ElementAtOrDefault(at)}' vs '{expected[at]}'"));
        }

        Report.Line($"first micro-batch: the scorer's {expected.Count} CSV lines equal the bare run's answers (e.g. {expected[0]})");
    }

    private sealed record Sample(TimeSpan Elapsed, TimeSpan Model);

    /// <summary>The baseline: nothing but Run on the session, a pre-built input per call, the outputs disposed unread.</summary>
    private sealed class BareRun(InferenceSession session, RunOptions runOptions, string[] inputNames, string[] outputNames)
    {
        public string[] OutputNames => outputNames;

        /// <summary>The median of up to <see cref="BarePasses"/> passes over every micro-batch.</summary>
        public TimeSpan Time(PreBuilt batches)
        {
            var passes = new List<double>(BarePasses);
            var start = Stopwatch.GetTimestamp();
            while (passes.Count < BarePasses && (passes.Count == 0 || Stopwatch.GetElapsedTime(start) < BareSampleLength))
            {
                passes.Add(Pass(batches).TotalSeconds);
            }

            return TimeSpan.FromSeconds(Stats.Median(passes));
        }

        private TimeSpan Pass(PreBuilt batches)
        {
            var input = new OrtValue[1];
            var start = Stopwatch.GetTimestamp();
            foreach (var value in batches.Values)
            {
                input[0] = value;
                using var results = session.Run(runOptions, inputNames, input, outputNames);
            }

            return Stopwatch.GetElapsedTime(start);
        }

        /// <summary>The first batch's rows as the CSV scorer writes them: the record, scores, label, empty error.</summary>
        public List<string> FirstBatchAsCsv(PreBuilt batches)
        {
            var input = batches.Values[0];
            var rows = (int)input.GetTensorTypeAndShape().Shape[0];
            var features = input.GetTensorDataAsSpan<float>().ToArray();
            using var results = session.Run(runOptions, inputNames, [input], outputNames);
            var scores = results[0].GetTensorDataAsSpan<float>().ToArray();
            var perRow = scores.Length / rows;
            var lines = new List<string>(rows);
            for (var r = 0; r < rows; r++)
            {
                var line = new StringBuilder();
                line.AppendJoin(',', features.Skip(r * IrisRows.Width).Take(IrisRows.Width).Select(f => f.ToString("F1", CultureInfo.InvariantCulture)));
                foreach (var score in scores.Skip(r * perRow).Take(perRow))
                {
                    line.Append(',').Append(score.ToString(CultureInfo.InvariantCulture));
                }

                line.Append(',').Append(results[1].GetStringElement(r)).Append(',');
                lines.Add(line.ToString());
            }

            return lines;
        }
    }

    /// <summary>One OrtValue per micro-batch over slices of the parsed rows, built before any timing.</summary>
    private sealed class PreBuilt : IDisposable
    {
        public PreBuilt(float[] features, int rows, int microBatch)
        {
            Values = new OrtValue[(rows + microBatch - 1) / microBatch];
            for (var b = 0; b < Values.Length; b++)
            {
                var first = b * microBatch;
                var count = Math.Min(microBatch, rows - first);
                Values[b] = OrtValue.CreateTensorValueFromMemory(
                    OrtMemoryInfo.DefaultInstance, features.AsMemory(first * IrisRows.Width, count * IrisRows.Width), [count, IrisRows.Width]);
            }
        }

        public OrtValue[] Values { get; }

        public void Dispose()
        {
            foreach (var value in Values)
            {
                value.Dispose();
            }
        }
    }
}

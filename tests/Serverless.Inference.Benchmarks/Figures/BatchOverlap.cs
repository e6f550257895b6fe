using System.Text;
using Serverless.Inference.Batch;
using Serverless.Inference.Benchmarks.Harness;

namespace Serverless.Inference.Benchmarks.Figures;

/// <summary>
/// Within one invocation: rows/s of the scorer reading and parsing the next micro-batch while the model runs on this
/// one and results are written (the default), against the same scorer doing one thing at a time, on the same files,
/// rounds interleaved.
/// </summary>
internal static class BatchOverlap
{
    private const int IrisRowCount = 1_000_000;
    private const int MiniLmRows = 3_000;
    private const int Rounds = 5;

    public static async Task RunAsync()
    {
        Report.Title(
            "batch-overlap: one invocation, reading/parsing overlapped with running/writing vs one thing at a time",
            Report.Invariant($"BatchScorer over a {IrisRowCount:N0}-row iris CSV and JSONL (micro-batch 256) and {MiniLmRows:N0} minilm texts (JSONL, micro-batch 64), FileStream in -> FileStream out;") + Environment.NewLine +
            Report.Invariant($"{Rounds} rounds, each timing both ways in turn (order reversed every other round); medians."));
        var folder = Directory.CreateTempSubdirectory("infer-bench-overlap-");
        try
        {
            var csv = Path.Combine(folder.FullName, "iris.csv");
            var jsonl = Path.Combine(folder.FullName, "iris.jsonl");
            IrisRows.WriteFiles(42, [new RowFile(csv, BatchFormat.Csv, IrisRowCount), new RowFile(jsonl, BatchFormat.Jsonl, IrisRowCount)]);
            var texts = Path.Combine(folder.FullName, "texts.jsonl");
            await File.WriteAllTextAsync(texts, string.Concat(Enumerable.Range(0, MiniLmRows).Select(i => $"{{\"text\":\"batch scoring on serverless functions, line {i}, with a few more words to embed\"}}\n")));

            using var host = ScoringHarness.SampleHost();
            await CompareAsync(host, "iris", "iris CSV", csv, BatchFormat.Csv, 256, Path.Combine(folder.FullName, "out"));
            await CompareAsync(host, "iris", "iris JSONL", jsonl, BatchFormat.Jsonl, 256, Path.Combine(folder.FullName, "out"));
            await CompareAsync(host, "minilm", "minilm texts", texts, BatchFormat.Jsonl, 64, Path.Combine(folder.FullName, "out"));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static async Task CompareAsync(Hosting.ModelHost host, string model, string label, string input, BatchFormat format, int microBatch, string output)
    {
        using var lease = await host.AcquireAsync(model, null, CancellationToken.None);
        await ScoringHarness.ScoreAsync(lease, input, output, format, microBatch);
        var overlapped = new List<double>();
        var sequential = new List<double>();
        long rows = 0;
        for (var round = 0; round < Rounds; round++)
        {
            foreach (var overlap in round % 2 == 0 ? new[] { true, false } : [false, true])
            {
                var (elapsed, summary) = await ScoringHarness.ScoreAsync(lease, input, output, format, microBatch, overlap);
                rows = summary.RowsIn;
                (overlap ? overlapped : sequential).Add(summary.RowsIn / elapsed.TotalSeconds);
            }
        }

        Console.WriteLine();
        Report.Line($"{label}: {rows:N0} rows");
        Report.Columns("rows/s");
        Report.Row("overlapped (the default)", overlapped, "F0");
        Report.Row("one thing at a time", sequential, "F0");
        Report.Ratio(Report.Invariant($"{label}, overlapped / one at a time"), Stats.Median(overlapped) / Stats.Median(sequential));
    }
}

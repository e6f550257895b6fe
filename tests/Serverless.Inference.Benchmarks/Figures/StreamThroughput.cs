using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Serverless.Inference.Batch;
using Serverless.Inference.Benchmarks.Harness;
using Serverless.Inference.Hosting;
using Serverless.Inference.Repository;
using Serverless.Inference.Streaming;

namespace Serverless.Inference.Benchmarks.Figures;

/// <summary>
/// Records per second of the streaming path against the batch path on the same records: (a) BatchScorer over the
/// records as one JSON lines stream in memory (the baseline), (b) StreamScorer over the records, (c) StreamProcessor
/// with a local folder store (scoring, predictions object, state for a model that keeps it). Then memory over a long
/// stream: RSS and managed heap at the start, middle and end of 1,000 batches through StreamProcessor.
/// </summary>
internal static class StreamThroughput
{
    private const string StatefulIris = "iris-stream";
    private const int Seed = 42;
    private const int Sensors = 10;
    private const int LongStreamBatches = 1_000;
    private const int LongStreamRecords = 100;

    public static async Task RunAsync()
    {
        Report.Title(
            "stream-throughput: StreamScorer and StreamProcessor vs BatchScorer on the same records",
            "(a) BatchScorer.ScoreAsync over the records joined as JSON lines in a MemoryStream (baseline); (b) StreamScorer.ScoreAsync over the same records, every result read;" + Environment.NewLine +
            "(c) StreamProcessor.ProcessAsync into a LocalFolderBatchStore in a temp folder (a new source each time, so every run is written, never a duplicate);" + Environment.NewLine +
            Report.Invariant($"(c') the same with {StatefulIris} (iris with a consecutive alert rule: per-key state saved every run, {Sensors} partition keys). Rounds alternate a, b, c, c' (reversed every other round); records/s medians."));

        var repository = Directory.CreateTempSubdirectory("infer-bench-stream-");
        var store = Directory.CreateTempSubdirectory("infer-bench-stream-store-");
        try
        {
            CopyModels(repository.FullName);
            using var host = new ModelHost(new LocalFolderModelStore(repository.FullName), new ModelHostOptions());
            var processor = new StreamProcessor(host, new LocalFolderBatchStore(store.FullName), new NullAlertSink(), NullLogger<StreamProcessor>.Instance);
            await CompareAsync(host, processor, "iris", IrisRecords, payload => payload, [(100, 200, 5), (10_000, 4, 5)]);
            // A text record is the text itself; the batch file's line for it is the same text as a one-input array.
            await CompareAsync(host, processor, "minilm", TextRecords, payload => JsonSerializer.Serialize(new[] { payload }), [(100, 2, 3), (1_000, 1, 3)]);
            await LongStreamAsync(processor);
        }
        finally
        {
            repository.Delete(recursive: true);
            store.Delete(recursive: true);
        }
    }

    /// <param name="cases">Records per batch, batches per sample, rounds.</param>
    /// <param name="batchLine">The batch file's line for a record's payload.</param>
    private static async Task CompareAsync(
        ModelHost host, StreamProcessor processor, string model, Func<int, Random, List<StreamRecord>> generate, Func<string, string> batchLine, (int Records, int Batches, int Rounds)[] cases)
    {
        using var lease = await host.AcquireAsync(model, null, CancellationToken.None);
        var random = new Random(Seed);
        var sources = 0;
        foreach (var (size, batches, rounds) in cases)
        {
            var records = generate(size, random);
            var lines = Encoding.UTF8.GetBytes(string.Join('\n', records.Select(r => batchLine(Encoding.UTF8.GetString(r.Payload.Span)))) + "\n");
            var variants = new List<(string Label, Func<Task> Run)>
            {
                ("(a) BatchScorer (baseline)", () => BatchAsync(lease, lines, size)),
                ("(b) StreamScorer", () => ScorerAsync(lease, records, size)),
                ("(c) StreamProcessor, local folder", () => ProcessAsync(processor, model, records, ++sources)),
            };
            if (model == "iris")
            {
                variants.Add(("(c') StreamProcessor, keyed state", () => ProcessAsync(processor, StatefulIris, records, ++sources)));
            }

            foreach (var (_, run) in variants)
            {
                await run();
            }

            var rates = variants.Select(_ => new List<double>()).ToArray();
            for (var round = 0; round < rounds; round++)
            {
                for (var k = 0; k < variants.Count; k++)
                {
                    var v = round % 2 == 0 ? k : variants.Count - 1 - k;
                    GC.Collect();
                    var start = Stopwatch.GetTimestamp();
                    for (var b = 0; b < batches; b++)
                    {
                        await variants[v].Run();
                    }

                    rates[v].Add(size * batches / Stopwatch.GetElapsedTime(start).TotalSeconds);
                }
            }

            Console.WriteLine();
            Report.Line($"{model}, batches of {size:N0} records, {batches} batch(es) per sample, {rounds} rounds; load {Report.LoadAverage()}");
            Report.Columns("records/s");
            for (var v = 0; v < variants.Count; v++)
            {
                Report.Row(variants[v].Label, rates[v], "F0");
            }

            var baseline = Stats.Median(rates[0]);
            var scorer = Stats.Median(rates[1]) / baseline;
            Report.Ratio(Report.Invariant($"{model} {size}: StreamScorer / BatchScorer"), scorer, ">= 0.9", scorer >= 0.9);
            Report.Ratio(Report.Invariant($"{model} {size}: StreamProcessor / BatchScorer"), Stats.Median(rates[2]) / baseline);
            if (variants.Count > 3)
            {
                Report.Ratio(Report.Invariant($"{model} {size}: StreamProcessor with keyed state / BatchScorer"), Stats.Median(rates[3]) / baseline);
            }
        }
    }

    /// <summary>1,000 batches through the processor with keyed state: memory at the start, middle and end must stay flat.</summary>
    private static async Task LongStreamAsync(StreamProcessor processor)
    {
        Console.WriteLine();
        Report.Line($"long stream: {LongStreamBatches:N0} batches of {LongStreamRecords} iris records through StreamProcessor ({StatefulIris}, {Sensors} keys, local folder store); load {Report.LoadAverage()}");
        var random = new Random(Seed);
        var samples = new List<(int Batch, long Rss, long Heap)>();
        var start = Stopwatch.GetTimestamp();
        for (var b = 1; b <= LongStreamBatches; b++)
        {
            var records = IrisRecords(LongStreamRecords, random, (long)b * LongStreamRecords);
            var outcome = await processor.ProcessAsync(new StreamBatch(StatefulIris, null, "long", records), CancellationToken.None);
            if (outcome.FirstUncommitted is not null || outcome.Committed != LongStreamRecords)
            {
                throw new InvalidOperationException($"batch {b}: {outcome}");
            }

            if (b is 10 or LongStreamBatches / 2 or LongStreamBatches)
            {
                GC.Collect();
                using var self = Process.GetCurrentProcess();
                samples.Add((b, self.WorkingSet64, GC.GetTotalMemory(forceFullCollection: true)));
            }
        }

        foreach (var (batch, rss, heap) in samples)
        {
            Report.Line($"  after batch {batch,5:N0}: RSS {rss / 1048576.0,7:F1} MiB, managed heap {heap / 1048576.0,6:F1} MiB");
        }

        var total = (double)LongStreamBatches * LongStreamRecords;
        Report.Line($"  {total:N0} records in {Stopwatch.GetElapsedTime(start).TotalSeconds:F1} s; RSS end / start = {(double)samples[^1].Rss / samples[0].Rss:F2}");
    }

    private static async Task BatchAsync(ModelLease lease, byte[] lines, int expected)
    {
        using var input = new MemoryStream(lines, writable: false);
        using var output = new MemoryStream();
        var summary = await new BatchScorer(lease).ScoreAsync(input, output, new BatchJob("bench", "bench", BatchFormat.Jsonl), null, CancellationToken.None);
        Check(summary.RowsOk, expected, "BatchScorer");
    }

    private static async Task ScorerAsync(ModelLease lease, List<StreamRecord> records, int expected)
    {
        using var scorer = new StreamScorer(lease);
        var ok = 0;
        await foreach (var result in scorer.ScoreAsync(records, new StreamState(), CancellationToken.None))
        {
            ok += result.Kind == StreamResultKind.Outputs && result.Json.Length > 0 ? 1 : 0;
        }

        Check(ok, expected, "StreamScorer");
    }

    private static async Task ProcessAsync(StreamProcessor processor, string model, List<StreamRecord> records, int source)
    {
        var outcome = await processor.ProcessAsync(new StreamBatch(model, null, Report.Invariant($"bench{source}"), records), CancellationToken.None);
        if (outcome.FirstUncommitted is not null || outcome.Committed != records.Count || outcome.RecordErrors != 0 || outcome.Duplicates != 0)
        {
            throw new InvalidOperationException($"StreamProcessor: {outcome}");
        }
    }

    private static void Check(long ok, int expected, string what)
    {
        if (ok != expected)
        {
            throw new InvalidOperationException(Report.Invariant($"{what}: {ok} of {expected} records scored"));
        }
    }

    private static List<StreamRecord> IrisRecords(int count, Random random) => IrisRecords(count, random, 1);

    private static List<StreamRecord> IrisRecords(int count, Random random, long firstPosition)
    {
        var start = new DateTimeOffset(2026, 12, 1, 20, 0, 0, TimeSpan.Zero);
        return [.. Enumerable.Range(0, count).Select(i =>
        {
            var features = Enumerable.Range(0, IrisRows.Width).Select(_ => IrisRows.ToFloat(random.Next(1, 80)));
            var payload = "[" + string.Join(',', features.Select(f => f.ToString(System.Globalization.CultureInfo.InvariantCulture))) + "]";
            var position = firstPosition + i;
            return new StreamRecord(Report.Invariant($"sensor-{position % Sensors}"), Report.Invariant($"{position}"), start.AddMilliseconds(position), Encoding.UTF8.GetBytes(payload));
        })];
    }

    private static List<StreamRecord> TextRecords(int count, Random random)
    {
        string[] parts = ["the pump", "bearing 3", "the north fan", "valve 12", "the compressor"];
        string[] states = ["runs hot", "vibrates above its normal band", "reads normal", "stopped for maintenance", "draws more current than usual"];
        var start = new DateTimeOffset(2026, 12, 1, 20, 0, 0, TimeSpan.Zero);
        return [.. Enumerable.Range(0, count).Select(i => new StreamRecord(
            Report.Invariant($"sensor-{i % Sensors}"),
            Report.Invariant($"{i + 1}"),
            start.AddMilliseconds(i),
            Encoding.UTF8.GetBytes(Report.Invariant($"{parts[random.Next(parts.Length)]} {states[random.Next(states.Length)]} at reading {random.Next(1000)}"))))];
    }

    /// <summary>The sample iris and minilm, and iris again with a counting alert rule so the processor keeps per-key state.</summary>
    private static void CopyModels(string root)
    {
        foreach (var model in new[] { "iris", "minilm" })
        {
            Copy(Path.Combine(Loopback.ModelRepository, model), Path.Combine(root, model));
        }

        Copy(Path.Combine(Loopback.ModelRepository, "iris"), Path.Combine(root, StatefulIris));
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(root, StatefulIris, "model.json")))!.AsObject();
        manifest["streaming"] = JsonNode.Parse("""{"alerts": [{"name": "virginica-3", "output": "PredictedLabel.output", "in": ["virginica"], "consecutive": 3}]}""");
        File.WriteAllText(Path.Combine(root, StatefulIris, "model.json"), manifest.ToJsonString());
    }

    private static void Copy(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    /// <summary>Alerts go nowhere: the figure measures scoring and storage, not a queue.</summary>
    private sealed class NullAlertSink : IAlertSink
    {
        public string Description => "none";

        public Task SendAsync(IReadOnlyList<StreamAlert> alerts, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

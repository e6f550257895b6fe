using System.Diagnostics;
using System.Globalization;
using System.Text;
using Serverless.Inference.Batch;
using Serverless.Inference.Batch.Sharding;
using Serverless.Inference.Benchmarks.Harness;
using Serverless.Inference.Hosting;
using Serverless.Inference.Repository;

namespace Serverless.Inference.Benchmarks.Figures;

/// <summary>
/// A big file fanned out over 1, 2 and 4 shard workers in this process (the in-process stand-in for the platform
/// queue, over a local drop folder), against the same file scored in one invocation: wall time, rows/s, the share of
/// planning and merging, and, from the measured per-shard figures, what 10,000,000 minilm rows cost at 100 and 1,000
/// concurrent Lambda instances. Rows per file come from the command line: <c>batch-scale [minilm-rows] [iris-rows]</c>.
/// </summary>
internal static class BatchScale
{
    private static readonly int[] WorkerCounts = [1, 2, 4];

    public static async Task RunAsync(string[] args)
    {
        var minilmRows = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 200_000;
        var irisRows = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 1_000_000;
        Report.Title(
            Report.Invariant($"batch-scale: one file in shards over 1, 2, 4 in-process workers vs one invocation ({minilmRows:N0} minilm texts, {irisRows:N0} iris rows)"),
            "each run: a fresh copy of the file under incoming/<model>/ of a temp drop folder; 'one invocation' = BatchJobRunner without a queue;" + Environment.NewLine +
            "'N workers' = BatchJobRunner planning into shards of whole micro-batches (about 8 shards a worker) and an InProcessShardQueue of N workers, each a BatchShardRunner;" + Environment.NewLine +
            "timed from ProcessAsync to the merged result; plan = ProcessAsync's own time, merge = from the last part published to the merged summary (the store's compose, summary, clean-up).");

        var folder = Directory.CreateTempSubdirectory("infer-bench-scale-");
        try
        {
            var drop = new LocalFolderBatchStore(Path.Combine(folder.FullName, "drop"));
            var work = Directory.CreateDirectory(Path.Combine(folder.FullName, "work")).FullName;
            using var host = new ModelHost(new LocalFolderModelStore(RepositoryWithOneThreadMiniLm(folder.FullName)), new ModelHostOptions());
            var texts = Texts(minilmRows);
            var minilm = await MeasureAsync(host, drop, work, "minilm", "jsonl", texts, minilmRows);
            // As a Lambda instance owns its vCPUs, a worker here that owns one core: one intra-op thread a session.
            await MeasureAsync(host, drop, work, OneThreadMiniLm, "jsonl", texts, minilmRows);
            await MeasureAsync(host, drop, work, "iris", "csv", IrisCsv(irisRows), irisRows);
            OnPaper(minilm);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static async Task<Measured> MeasureAsync(ModelHost host, LocalFolderBatchStore drop, string work, string model, string extension, byte[] content, int rows)
    {
        Console.WriteLine();
        Report.Line($"{model}: {rows:N0} rows, {content.Length / 1048576.0:F1} MiB");
        var one = await OneInvocationAsync(host, drop, work, model, extension, content);
        Report.Line($"  one invocation: {one.TotalSeconds,8:F1} s  {rows / one.TotalSeconds,9:N0} rows/s");
        Measured? result = null;
        foreach (var workers in WorkerCounts)
        {
            var run = await ShardedAsync(host, drop, work, model, extension, content, rows, workers);
            Report.Line($"  {workers} worker(s): {run.Total.TotalSeconds,8:F1} s  {rows / run.Total.TotalSeconds,9:N0} rows/s  speed-up {one.TotalSeconds / run.Total.TotalSeconds:F2}x vs one invocation  {run.Shards} shards, {run.ShardSeconds:F1} s a shard (median)  plan {run.Plan.TotalSeconds:F2} s + merge {run.Merge.TotalSeconds:F2} s = {100 * (run.Plan + run.Merge) / run.Total:F1}% of the total");
            result ??= run;
            if (workers == 2)
            {
                var text = model.StartsWith("minilm", StringComparison.Ordinal);
                Report.Ratio(Report.Invariant($"{model} 2 workers / 1 worker, rows/s"), result.Total / run.Total, text ? ">= 1.7" : null, text ? result.Total / run.Total >= 1.7 : null);
            }
        }

        return result!;
    }

    private static async Task<TimeSpan> OneInvocationAsync(ModelHost host, LocalFolderBatchStore drop, string work, string model, string extension, byte[] content)
    {
        var key = Put(drop, model, extension, content);
        var clock = Stopwatch.StartNew();
        var outcome = await new BatchJobRunner(drop, host, new BatchRunnerOptions { WorkDirectory = work }).ProcessAsync(key, default);
        return outcome.Kind == BatchOutcomeKind.Scored ? clock.Elapsed : throw new InvalidOperationException($"one invocation: {outcome.Kind} {outcome.Error}");
    }

    private static async Task<Measured> ShardedAsync(ModelHost host, LocalFolderBatchStore drop, string work, string model, string extension, byte[] content, int rows, int workers)
    {
        var key = Put(drop, model, extension, content);
        var timing = new TimingStore(drop);
        var options = new BatchRunnerOptions
        {
            WorkDirectory = work,
            Sharding = new ShardingOptions { MinBytes = 0, RowsPerShard = Math.Max(1, rows / (8 * workers)), BytesPerShard = long.MaxValue },
        };
        var queue = new InProcessShardQueue(new BatchShardRunner(timing, host, options), workers);
        using var stop = new CancellationTokenSource();
        var running = queue.RunAsync(stop.Token);
        var clock = Stopwatch.StartNew();
        var outcome = await new BatchJobRunner(timing, host, options, null, null, queue).ProcessAsync(key, default);
        var plan = clock.Elapsed;
        await queue.WhenIdleAsync(default);
        var total = clock.Elapsed;
        await stop.CancelAsync();
        await running;
        if (outcome.Kind != BatchOutcomeKind.Sharded || await drop.StatAsync(outcome.ResultsKey!, default) is null)
        {
            throw new InvalidOperationException($"{workers} workers: {outcome.Kind} {outcome.Error}, no merged result");
        }

        return new Measured(total, plan, timing.MergeTime, timing.Parts, timing.ShardSeconds, timing.RowsPerShard);
    }

    /// <summary>10,000,000 minilm rows, from the measured seconds a shard and rows a shard, at 100 and 1,000 concurrent instances.</summary>
    private static void OnPaper(Measured minilm)
    {
        const double Rows = 10_000_000;
        const double MemoryGb = 2.0;
        // Shards of 20,000 texts: about a minute each at the measured rate, far inside Lambda's 900 s.
        var rowsPerShard = Rows / Math.Ceiling(Rows / 20_000);
        var secondsPerRow = minilm.ShardSeconds / Math.Max(1, minilm.RowsPerShard);
        Console.WriteLine();
        Report.Line($"on paper, 10,000,000 minilm rows in shards of {rowsPerShard:N0} rows at the measured {1 / secondsPerRow:N0} rows/s a worker (2 GB Lambda, one worker an instance):");
        foreach (var concurrency in new[] { 100, 1000 })
        {
            var shards = Math.Ceiling(Rows / rowsPerShard);
            var waves = Math.Ceiling(shards / concurrency);
            var shardSeconds = rowsPerShard * secondsPerRow;
            Report.Line($"  {concurrency,5} instances: {shards:N0} shards in {waves:N0} wave(s) of {shardSeconds:N0} s = {waves * shardSeconds / 60:N1} min wall; {shards * shardSeconds * MemoryGb:N0} GB-s");
        }
    }

    private const string OneThreadMiniLm = "minilm-1t";

    /// <summary>The sample models, plus minilm under another name whose manifest gives each session one intra-op thread.</summary>
    private static string RepositoryWithOneThreadMiniLm(string folder)
    {
        var repository = Directory.CreateDirectory(Path.Combine(folder, "models")).FullName;
        foreach (var model in Directory.EnumerateDirectories(Loopback.ModelRepository))
        {
            Directory.CreateSymbolicLink(Path.Combine(repository, Path.GetFileName(model)), model);
        }

        var copy = Directory.CreateDirectory(Path.Combine(repository, OneThreadMiniLm, "1")).FullName;
        foreach (var file in Directory.EnumerateFiles(Path.Combine(Loopback.ModelRepository, "minilm", "1")))
        {
            File.CreateSymbolicLink(Path.Combine(copy, Path.GetFileName(file)), file);
        }

        var manifest = File.ReadAllText(Path.Combine(Loopback.ModelRepository, "minilm", "model.json"));
        File.WriteAllText(Path.Combine(repository, OneThreadMiniLm, "model.json"), manifest.Replace("\"intra_op_threads\": 2", "\"intra_op_threads\": 1", StringComparison.Ordinal));
        return repository;
    }

    private static string Put(LocalFolderBatchStore drop, string model, string extension, byte[] content)
    {
        var key = $"incoming/{model}/scale-{Guid.NewGuid():N}.{extension}";
        var path = Path.Combine(drop.Root, key);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, content);
        return key;
    }

    private static byte[] Texts(int rows)
    {
        string[] words = ["serverless", "functions", "score", "models", "quickly", "a", "catalogue", "of", "products", "every", "night"];
        var text = new StringBuilder();
        var random = new Random(11);
        for (var i = 0; i < rows; i++)
        {
            text.Append("{\"text\":\"");
            var length = 6 + random.Next(10);
            for (var w = 0; w < length; w++)
            {
                text.Append(w == 0 ? "" : " ").Append(words[random.Next(words.Length)]);
            }

            text.Append("\"}\n");
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }

    private static byte[] IrisCsv(int rows)
    {
        var text = new StringBuilder("sepal_length,sepal_width,petal_length,petal_width\n");
        var random = new Random(7);
        for (var i = 0; i < rows; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"{4 + random.Next(40) / 10.0:0.0},{2 + random.Next(25) / 10.0:0.0},{1 + random.Next(60) / 10.0:0.0},{0.1 + random.Next(25) / 10.0:0.0}\n");
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }

    private sealed record Measured(TimeSpan Total, TimeSpan Plan, TimeSpan Merge, int Shards, double ShardSeconds, double RowsPerShard);

    /// <summary>The store, noting what the timing needs: each shard's own summary, the last part's and the merged summary's moments.</summary>
    private sealed class TimingStore(IBatchStore inner) : IBatchStore
    {
        private readonly Lock _gate = new();
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly List<BatchSummary> _parts = [];
        private TimeSpan _lastPart;
        private TimeSpan _merged;

        public string Description => inner.Description;

        public int Parts => _parts.Count;

        public double ShardSeconds => Stats.Median([.. _parts.Select(p => p.Duration.TotalSeconds)]);

        public double RowsPerShard => Stats.Median([.. _parts.Select(p => (double)p.RowsIn)]);

        public TimeSpan MergeTime => _merged - _lastPart;

        public Task<BatchObject?> StatAsync(string key, CancellationToken cancellationToken) => inner.StatAsync(key, cancellationToken);

        public Task<Stream> OpenReadAsync(BatchObject pinned, long offset, long? length, CancellationToken cancellationToken) => inner.OpenReadAsync(pinned, offset, length, cancellationToken);

        public async Task<bool> CreateAsync(string key, Stream content, CancellationToken cancellationToken)
        {
            var isPart = key.Contains("/part-", StringComparison.Ordinal);
            if (isPart && key.EndsWith(".summary.json", StringComparison.Ordinal))
            {
                using var copy = new MemoryStream();
                await content.CopyToAsync(copy, cancellationToken);
                lock (_gate)
                {
                    _parts.Add(BatchSummary.Parse(copy.ToArray()));
                }

                copy.Position = 0;
                return await inner.CreateAsync(key, copy, cancellationToken);
            }

            var created = await inner.CreateAsync(key, content, cancellationToken);
            lock (_gate)
            {
                if (isPart)
                {
                    _lastPart = _clock.Elapsed;
                }
                else if (key.EndsWith(".summary.json", StringComparison.Ordinal))
                {
                    _merged = _clock.Elapsed;
                }
            }

            return created;
        }

        public Task<bool> ComposeAsync(string key, IReadOnlyList<BatchObject> parts, CancellationToken cancellationToken) => inner.ComposeAsync(key, parts, cancellationToken);

        public Task WriteAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) => inner.WriteAsync(key, content, cancellationToken);

        public Task<bool> DeleteAsync(BatchObject pinned, CancellationToken cancellationToken) => inner.DeleteAsync(pinned, cancellationToken);

        public IAsyncEnumerable<BatchObject> ListAsync(string prefix, CancellationToken cancellationToken) => inner.ListAsync(prefix, cancellationToken);
    }
}

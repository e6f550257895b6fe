using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Serverless.Inference.Batch;
using Serverless.Inference.Benchmarks.Harness;
using Serverless.Inference.Hosting;
using Serverless.Inference.Monitoring;
using Serverless.Inference.Protocol;
using Serverless.Inference.Repository;
using Serverless.Inference.Tests.Monitoring.Support;

namespace Serverless.Inference.Benchmarks.Figures;

/// <summary>
/// What prediction capture costs the serve path: iris one-row requests to three copies of the model in one serve host,
/// capture off, at 1% and at 100%, in alternating rounds; then a burst that overfills the capture buffer while the
/// store is held back, with the bytes the buffer held and the process's peak RSS.
/// </summary>
internal static class CaptureCost
{
    private const int Concurrency = 16;
    private const int RoundsEach = 5;
    private const int WarmupRoundsEach = 2;
    private static readonly TimeSpan RoundLength = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan WarmupLength = TimeSpan.FromSeconds(2);
    private static readonly float[] Row = [5.1f, 3.5f, 1.4f, 0.2f];

    public static async Task RunAsync()
    {
        Report.Title(
            "capture-cost: iris through the serve host with prediction capture off, at 1% and at 100%",
            Report.Invariant($"Three copies of iris in one serve host with --capture-dir: no monitoring section, sample_rate 0.01, sample_rate 1. Load: in-process HttpClient, {Concurrency} concurrent loops of one-row JSON requests, {RoundsEach} rounds of {RoundLength.TotalSeconds:F0} s each per variant, rotating (after {WarmupRoundsEach} x {WarmupLength.TotalSeconds:F0} s of warm-up each)."));

        var root = Directory.CreateTempSubdirectory("capture-cost-").FullName;
        try
        {
            var repository = Path.Combine(root, "models");
            (string Model, double? Rate)[] models = [("iris-off", null), ("iris-1pct", 0.01), ("iris-100pct", 1)];
            foreach (var (model, rate) in models)
            {
                CopyIris(repository, model, rate);
            }

            var captureDirectory = Path.Combine(root, "capture-root");
            await using (var serve = await ServeHost.StartAsync(repository, 1 << 20, captureDirectory: captureDirectory))
            {
                await CompareAsync(serve, models);
            }

            var objects = Directory.Exists(Path.Combine(captureDirectory, PredictionCapture.Folder))
                ? Directory.EnumerateFiles(Path.Combine(captureDirectory, PredictionCapture.Folder), "*.jsonl", SearchOption.AllDirectories).ToList()
                : [];
            var lines = objects.Sum(f => File.ReadLines(f).LongCount());
            Report.Line($"capture objects written: {objects.Count}, records in them: {lines} (iris-1pct and iris-100pct only: {string.Join(", ", objects.Select(o => o.Split(Path.DirectorySeparatorChar)[^7]).Distinct())})");

            await BurstAsync(repository, root);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static async Task CompareAsync(ServeHost serve, (string Model, double? Rate)[] models)
    {
        var body = InferBodies.JsonRequest("Features", [1, 4], Row);
        using var client = Loopback.Client(maxConnections: 64);
        var uris = models.Select(m => new Uri(serve.BaseAddress, $"/v2/models/{m.Model}/infer")).ToArray();
        for (var i = 0; i < WarmupRoundsEach; i++)
        {
            foreach (var uri in uris)
            {
                await LoadAsync(client, uri, body, WarmupLength);
            }
        }

        var rates = models.Select(_ => new List<double>()).ToArray();
        long errors = 0;
        for (var round = 0; round < RoundsEach * models.Length; round++)
        {
            var v = round % models.Length;
            var (ok, failed, elapsed) = await LoadAsync(client, uris[v], body, RoundLength);
            rates[v].Add(ok / elapsed.TotalSeconds);
            errors += failed;
        }

        Report.Columns("req/s");
        for (var v = 0; v < models.Length; v++)
        {
            Report.Row(models[v].Rate is { } rate ? Report.Invariant($"{models[v].Model}: capture at {rate:P0}") : $"{models[v].Model}: capture off (baseline)", rates[v], "F0");
        }

        var off = Stats.Median(rates[0]);
        var onePercent = Stats.Median(rates[1]) / off;
        var all = Stats.Median(rates[2]) / off;
        Report.Ratio("capture at 1% / off", onePercent, ">= 0.99", onePercent >= 0.99);
        Report.Ratio("capture at 100% / off", all, ">= 0.95", all >= 0.95);
        Report.Line($"requests not 200 or failed: {errors}");
    }

    /// <summary>Records far beyond the buffer while the store holds every write back: the bound must hold, the rest be dropped.</summary>
    private static async Task BurstAsync(string repository, string root)
    {
        const int Requests = 4_000;
        const int RowsPerRequest = 64;
        var storeRoot = Directory.CreateDirectory(Path.Combine(root, "burst")).FullName;
        using var gate = new SemaphoreSlim(0);
        var options = new CaptureOptions { BackgroundFlush = false };
        await using var capture = new PredictionCapture(new GatedBatchStore(new LocalFolderBatchStore(storeRoot), gate), options);
        using var host = new ModelHost(new LocalFolderModelStore(repository), new ModelHostOptions { Capture = capture });
        var handler = new OpenInferenceHandler(host, new RequestLimits());
        var body = InferBodies.JsonRequest("Features", [RowsPerRequest, 4], [.. Enumerable.Repeat(Row, RowsPerRequest).SelectMany(r => r)]);

        using var self = Process.GetCurrentProcess();
        self.Refresh();
        var peakBefore = self.PeakWorkingSet64;
        long maxHeld = 0;
        for (var i = 0; i < Requests; i++)
        {
            using var response = await handler.HandleAsync(new OipHttpRequest("POST", "/v2/models/iris-100pct/infer", _ => null, new MemoryStream(body), body.Length), CancellationToken.None);
            if (response.StatusCode != 200)
            {
                throw new InvalidOperationException(Report.Invariant($"burst request answered {response.StatusCode}"));
            }

            maxHeld = Math.Max(maxHeld, capture.Buffer.HeldBytes);
        }

        self.Refresh();
        var peakDuring = self.PeakWorkingSet64;
        gate.Release(int.MaxValue / 2);
        await capture.FlushAsync();
        var written = Directory.EnumerateFiles(storeRoot, "*.jsonl", SearchOption.AllDirectories).Sum(f => File.ReadLines(f).LongCount());
        const long Offered = (long)Requests * RowsPerRequest;
        Report.Line($"burst: {Requests} requests x {RowsPerRequest} rows = {Offered} records to iris-100pct with every store write held back until the end");
        Report.Line($"buffer bound {options.BufferBytes / 1048576.0:F1} MiB; most held {maxHeld / 1048576.0:F2} MiB ({(maxHeld <= options.BufferBytes ? "bound held" : "BOUND EXCEEDED")})");
        Report.Line($"records written once released: {written}, dropped (buffer full): {Offered - written}");
        Report.Line($"peak RSS of this process: {peakBefore / 1048576.0:F0} MiB before the burst, {peakDuring / 1048576.0:F0} MiB after it");
    }

    private static void CopyIris(string repository, string model, double? rate)
    {
        var source = Path.Combine(Loopback.ModelRepository, "iris");
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(repository, model, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        if (rate is { } sampleRate)
        {
            var manifestPath = Path.Combine(repository, model, "model.json");
            var manifest = JsonNode.Parse(File.ReadAllText(manifestPath))!.AsObject();
            manifest["monitoring"] = new JsonObject { ["capture"] = new JsonObject { ["sample_rate"] = sampleRate } };
            File.WriteAllText(manifestPath, manifest.ToJsonString());
        }
    }

    private static async Task<(long Ok, long Errors, TimeSpan Elapsed)> LoadAsync(HttpClient client, Uri uri, byte[] body, TimeSpan duration)
    {
        long ok = 0, errors = 0;
        var start = Stopwatch.GetTimestamp();
        var deadline = start + (long)(duration.TotalSeconds * Stopwatch.Frequency);

        async Task LoopAsync()
        {
            while (Stopwatch.GetTimestamp() < deadline)
            {
                try
                {
                    using var request = InferBodies.Post(uri, body, null);
                    using var response = await client.SendAsync(request);
                    await response.Content.ReadAsByteArrayAsync();
                    Interlocked.Increment(ref response.StatusCode == HttpStatusCode.OK ? ref ok : ref errors);
                }
                catch (HttpRequestException)
                {
                    Interlocked.Increment(ref errors);
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(_ => Task.Run(LoopAsync)));
        return (ok, errors, Stopwatch.GetElapsedTime(start));
    }
}

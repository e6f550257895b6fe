using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Serverless.Inference.Benchmarks.Harness;

namespace Serverless.Inference.Benchmarks.Figures;

/// <summary>
/// Dynamic batching on vs off through the real local host on loopback: the same model served twice from one
/// repository, once with <c>dynamic_batching</c> in its manifest, and concurrent clients sending one row per request.
/// Rounds alternate the two, so the machine's load falls on both alike.
/// </summary>
internal static class DynamicBatching
{
    private const int Rounds = 3;
    private static readonly TimeSpan RoundLength = TimeSpan.FromSeconds(6);

    private static readonly string[] Sentences =
    [
        "The pump's vibration rose sharply after the last maintenance window.",
        "A cat sat on the mat.",
        "Quarterly revenue beat expectations by a small margin.",
        "How do I reset my password?",
        "Temperatures will fall below freezing tonight in the northern valleys.",
        "The quick brown fox jumps over the lazy dog.",
        "Please deliver the parcel to the side entrance.",
        "Serverless functions scale to zero when idle.",
    ];

    public static async Task RunAsync()
    {
        Report.Title(
            "dynamic-batching: concurrent one-row requests, batching on vs off",
            Report.Invariant($"POST /v2/models/<m>/infer on the real local host; {Rounds} alternating rounds of {RoundLength.TotalSeconds:F0} s per variant; latency per request, client side."));

        var repository = Path.Combine(Path.GetTempPath(), "dynamic-batching-" + Guid.NewGuid().ToString("N"));
        try
        {
            Copy("minilm", "minilm", repository, batching: null);
            Copy("minilm", "minilm-batched", repository, """{"max_queue_delay_microseconds": 2000, "preferred_batch_size": [8]}""");
            Copy("iris", "iris", repository, batching: null);
            Copy("iris", "iris-batched", repository, """{"max_queue_delay_microseconds": 0}""");
            Copy("iris", "iris-batched-500us", repository, """{"max_queue_delay_microseconds": 500}""");

            await using var serve = await ServeHost.StartAsync(repository, 16 * 1024 * 1024);
            using var client = Loopback.Client(maxConnections: 16);

            var (text, batchedRate, _) = await CompareAsync(serve, client, "minilm", "minilm-batched", TextBody, clients: 8);
            Report.Ratio("minilm, 8 clients: requests/s batched / unbatched", text, ">= 1.8", text >= 1.8);

            // What merging could reach at best: the same sentences sent 8 to a request by one client, no queue at all.
            var (count, _) = await LoadAsync(serve, client, "minilm", EightTextsBody, clients: 1, RoundLength);
            var ceiling = count * 8 / RoundLength.TotalSeconds;
            Report.Line($"ceiling: one client sending 8 sentences per request to minilm: {ceiling:F0} sentences/s ({ceiling / (batchedRate / text):F2}x the unbatched 8-client rate)");
            Report.Ratio("minilm, 8 clients batched / the 8-per-request ceiling", batchedRate / ceiling);
            var (_, _, lone) = await CompareAsync(serve, client, "minilm", "minilm-batched", TextBody, clients: 1);
            Report.Line($"one client: p50 with batching - without = {lone:F2} ms (target: <= the 2 ms queue delay) {(lone <= 2 ? "ok" : "MISSED")}");

            var (tabular, _, _) = await CompareAsync(serve, client, "iris", "iris-batched", IrisBody, clients: 8);
            Report.Ratio("iris, 8 clients: requests/s batched (no delay) / unbatched", tabular, ">= 0.95", tabular >= 0.95);
            var (waiting, _, _) = await CompareAsync(serve, client, "iris", "iris-batched-500us", IrisBody, clients: 8);
            Report.Ratio("iris, 8 clients: requests/s batched (500 us delay) / unbatched", waiting);
        }
        finally
        {
            Directory.Delete(repository, recursive: true);
        }
    }

    /// <returns>The median over rounds of requests/s with batching divided by without, and with batching; p50 with minus without.</returns>
    private static async Task<(double Ratio, double Batched, double P50Delta)> CompareAsync(ServeHost serve, HttpClient client, string plain, string batched, Func<int, byte[]> body, int clients)
    {
        foreach (var model in new[] { plain, batched })
        {
            await LoadAsync(serve, client, model, body);
        }

        using var runs = new RunSizes(batched);
        var latencies = new[] { new List<double>(), new List<double>() };
        var rates = new[] { new List<double>(), new List<double>() };
        for (var round = 0; round < Rounds; round++)
        {
            foreach (var v in round % 2 == 0 ? new[] { 0, 1 } : [1, 0])
            {
                var (count, samples) = await LoadAsync(serve, client, v == 0 ? plain : batched, body, clients, RoundLength);
                rates[v].Add(count / RoundLength.TotalSeconds);
                latencies[v].AddRange(samples);
            }
        }

        Console.WriteLine();
        Report.Line($"{clients} client(s), {plain} vs {batched}:");
        Report.Line($"  {"variant",-22} {"requests/s",12} {"p50 ms",9} {"p99 ms",9}");
        foreach (var v in new[] { 0, 1 })
        {
            Report.Line($"  {(v == 0 ? "batching off" : "batching on"),-22} {Stats.Median(rates[v]),12:F0} {Stats.Median(latencies[v]),9:F2} {Stats.Percentile(latencies[v], 0.99),9:F2}");
        }

        var ratio = Stats.Median(rates[1]) / Stats.Median(rates[0]);
        Report.Line($"  requests/s on/off {ratio:F2}; p50 on - off {Stats.Median(latencies[1]) - Stats.Median(latencies[0]):F2} ms; batching on: {runs.Describe()}");
        return (ratio, Stats.Median(rates[1]), Stats.Median(latencies[1]) - Stats.Median(latencies[0]));
    }

    /// <summary>Loads the model and checks it answers, with a few requests that are not counted.</summary>
    private static async Task LoadAsync(ServeHost serve, HttpClient client, string model, Func<int, byte[]> body) =>
        await LoadAsync(serve, client, model, body, clients: 1, TimeSpan.FromMilliseconds(200));

    private static async Task<(int Count, List<double> Latencies)> LoadAsync(
        ServeHost serve, HttpClient client, string model, Func<int, byte[]> body, int clients, TimeSpan duration)
    {
        var uri = new Uri(serve.BaseAddress, $"/v2/models/{model}/infer");
        var until = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var perClient = await Task.WhenAll(Enumerable.Range(0, clients).Select(async c =>
        {
            var samples = new List<double>();
            for (var i = c; Stopwatch.GetTimestamp() < until; i += clients)
            {
                using var content = new ByteArrayContent(body(i));
                content.Headers.ContentType = new("application/json");
                var start = Stopwatch.GetTimestamp();
                using var response = await client.PostAsync(uri, content);
                var answer = await response.Content.ReadAsByteArrayAsync();
                samples.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    throw new InvalidOperationException(Report.Invariant($"{model} answered {(int)response.StatusCode}: {Encoding.UTF8.GetString(answer)}"));
                }
            }

            return samples;
        }));
        var all = perClient.SelectMany(samples => samples).ToList();
        return (all.Count, all);
    }

    private static byte[] EightTextsBody(int i) => Encoding.UTF8.GetBytes(
        $$"""{"inputs":[{"name":"text","shape":[8],"datatype":"BYTES","data":{{System.Text.Json.JsonSerializer.Serialize(Enumerable.Range(i, 8).Select(k => Sentences[k % Sentences.Length]))}}}]}""");

    private static byte[] TextBody(int i) => Encoding.UTF8.GetBytes(
        $$"""{"inputs":[{"name":"text","shape":[1],"datatype":"BYTES","data":[{{System.Text.Json.JsonSerializer.Serialize(Sentences[i % Sentences.Length])}}]}]}""");

    private static readonly byte[][] IrisBodies = [.. Enumerable.Range(0, 64).Select(IrisBodyFor)];

    private static byte[] IrisBody(int i) => IrisBodies[i % IrisBodies.Length];

    private static byte[] IrisBodyFor(int seed)
    {
        Span<int> tenths = stackalloc int[IrisRows.Width];
        new IrisRows(seed).Next(tenths);
        var values = string.Join(',', tenths.ToArray().Select(t => IrisRows.ToFloat(t).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        return Encoding.UTF8.GetBytes($$"""{"inputs":[{"name":"Features","shape":[1,4],"datatype":"FP32","data":[{{values}}]}]}""");
    }

    private static void Copy(string sample, string name, string repository, string? batching)
    {
        var source = Path.Combine(Loopback.ModelRepository, sample);
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(repository, name, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(source, "model.json")))!.AsObject();
        manifest.Remove("dynamic_batching");
        if (batching is not null)
        {
            manifest["dynamic_batching"] = JsonNode.Parse(batching);
        }

        File.WriteAllText(Path.Combine(repository, name, "model.json"), manifest.ToJsonString());
    }

    /// <summary>How many requests shared each run of one model, from the batcher's own metric.</summary>
    private sealed class RunSizes : IDisposable
    {
        private readonly System.Diagnostics.Metrics.MeterListener _listener = new();
        private long _runs;
        private long _requests;

        public RunSizes(string model)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == Telemetry.InferenceTelemetry.Name && instrument.Name == "inference.dynamic_batch.requests")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    if (tag.Key == "model.name" && (string?)tag.Value == model)
                    {
                        Interlocked.Increment(ref _runs);
                        Interlocked.Add(ref _requests, value);
                    }
                }
            });
            _listener.Start();
        }

        public string Describe() => Report.Invariant($"{_runs} runs, {(double)_requests / Math.Max(1, _runs):F2} requests per run");

        public void Dispose() => _listener.Dispose();
    }
}

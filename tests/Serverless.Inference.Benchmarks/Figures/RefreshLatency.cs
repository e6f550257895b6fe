using System.Diagnostics;
using Serverless.Inference.Benchmarks.Harness;
using Serverless.Inference.Hosting;
using Serverless.Inference.Runtime;

namespace Serverless.Inference.Benchmarks.Figures;

/// <summary>
/// Warm iris requests through <see cref="ModelHost"/> while its refresh interval keeps running out: against a store
/// that takes 200 ms a call, and against the same store without the delay. A request that waited on the store
/// would take at least one call's delay; the target is that none does.
/// </summary>
internal static class RefreshLatency
{
    private const int Callers = 4;
    private const int RoundsEach = 5;
    private const double SlowThresholdMs = 150;
    private static readonly TimeSpan StoreDelay = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan Refresh = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan RoundLength = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan WarmupLength = TimeSpan.FromSeconds(1);
    private static readonly float[] Row = [5.1f, 3.5f, 1.4f, 0.2f];

    public static async Task RunAsync()
    {
        Report.Title(
            "refresh-latency: warm iris requests while the host's refresh interval keeps running out",
            Report.Invariant($"(a) a store that answers every call after {StoreDelay.TotalMilliseconds:F0} ms; (b) the same store without the delay. RefreshInterval {Refresh.TotalSeconds:F0} s.") + Environment.NewLine +
            Report.Invariant($"Load: {Callers} concurrent callers, each AcquireAsync + a 1-row Run + dispose in a loop; {RoundsEach} rounds of {RoundLength.TotalSeconds:F0} s per store, alternating a/b; latency per request."));

        var cache = Path.Combine(Path.GetTempPath(), "refresh-latency-" + Guid.NewGuid().ToString("N"));
        try
        {
            var slowStore = new SlowModelStore(Loopback.ModelRepository, StoreDelay);
            var plainStore = new SlowModelStore(Loopback.ModelRepository, TimeSpan.Zero);
            using var slow = new ModelHost(slowStore, Options(Path.Combine(cache, "a")));
            using var plain = new ModelHost(plainStore, Options(Path.Combine(cache, "b")));
            var variants = new (string Label, ModelHost Host, SlowModelStore Store)[]
            {
                (Report.Invariant($"(a) store {StoreDelay.TotalMilliseconds:F0} ms per call"), slow, slowStore),
                ("(b) store without delay", plain, plainStore),
            };

            foreach (var (_, host, _) in variants)
            {
                await LoadAsync(host, WarmupLength);
            }

            var latencies = variants.Select(_ => new List<double>()).ToArray();
            var storeCalls = new int[variants.Length];
            for (var round = 0; round < 2 * RoundsEach; round++)
            {
                var v = round % 2;
                var callsBefore = variants[v].Store.Calls;
                latencies[v].AddRange(await LoadAsync(variants[v].Host, RoundLength));
                storeCalls[v] += variants[v].Store.Calls - callsBefore;
            }

            Report.Line($"{"",-46} {"requests",9} {"p50 ms",8} {"p99 ms",8} {"max ms",8} {"> " + SlowThresholdMs.ToString("F0", System.Globalization.CultureInfo.InvariantCulture) + " ms",9} {"store calls",12}");
            for (var v = 0; v < variants.Length; v++)
            {
                var samples = latencies[v];
                Report.Line($"{variants[v].Label,-46} {samples.Count,9} {Stats.Percentile(samples, 0.5),8:F3} {Stats.Percentile(samples, 0.99),8:F3} {samples.Max(),8:F1} {samples.Count(ms => ms > SlowThresholdMs),9} {storeCalls[v],12}");
            }

            var ratio = Stats.Percentile(latencies[0], 0.99) / Stats.Percentile(latencies[1], 0.99);
            var slowRequests = latencies[0].Count(ms => ms > SlowThresholdMs);
            Report.Ratio("p99 with the slow store / p99 without", ratio, "< 2, and no request > 150 ms", ratio < 2 && slowRequests == 0);
        }
        finally
        {
            try
            {
                Directory.Delete(cache, recursive: true);
            }
            catch (IOException)
            {
                // A leftover temp folder must not fail the figure.
            }
        }
    }

    private static ModelHostOptions Options(string cacheDirectory) =>
        new() { CacheDirectory = cacheDirectory, RefreshInterval = Refresh, DefaultIntraOpThreads = 1 };

    /// <summary>Latencies in ms of every request the callers completed in the time given.</summary>
    private static async Task<List<double>> LoadAsync(ModelHost host, TimeSpan duration)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);

        async Task<List<double>> CallerAsync()
        {
            var latencies = new List<double>();
            while (Stopwatch.GetTimestamp() < deadline)
            {
                var start = Stopwatch.GetTimestamp();
                using (var lease = await host.AcquireAsync("iris", null, CancellationToken.None))
                using (var input = InputTensor.FromArray<float>("Features", TensorDataType.Fp32, [1, Row.Length], Row))
                using (lease.Endpoint.Run([input], null, CancellationToken.None))
                {
                }

                latencies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }

            return latencies;
        }

        var results = await Task.WhenAll(Enumerable.Range(0, Callers).Select(_ => Task.Run(CallerAsync)));
        return [.. results.SelectMany(r => r)];
    }
}

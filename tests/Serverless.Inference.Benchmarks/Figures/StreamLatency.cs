using System.Globalization;
using Serverless.Inference.Benchmarks.Harness;

namespace Serverless.Inference.Benchmarks.Figures;

/// <summary>
/// <c>infer stream</c> as a user runs it, a real process fed sensor readings on its standard input: the time from
/// a reading written to its prediction read, at a low rate (one every 100 ms: the latency bound decides) and as
/// fast as the pipe takes them (queueing decides), against <c>cat</c> through the same pipes as the baseline;
/// then its resident memory at the start, middle and end of a long stream.
/// </summary>
internal static class StreamLatency
{
    private const int Warmup = 20;
    private const int SlowRecords = 100;
    private const int LoadRecords = 20_000;
    private const int LongRecords = 300_000;
    private const int Sensors = 50;
    private const int MaxLatencyMs = 50;
    private static readonly TimeSpan SlowInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan Guard = TimeSpan.FromMinutes(5);

    public static async Task RunAsync()
    {
        var infer = Path.Combine(AppContext.BaseDirectory, "infer.dll");
        string[] stream = [infer, "stream", "--model", "sensor", "--repository", Loopback.ModelRepository, "--max-latency-ms", MaxLatencyMs.ToString(CultureInfo.InvariantCulture)];
        Report.Title(
            "stream-latency: a reading written to a process's stdin -> its answer read from its stdout",
            Report.Invariant($"(a) dotnet infer.dll stream --model sensor --max-latency-ms {MaxLatencyMs} (alerts on the same stdout, left out); (b) baseline: cat, which echoes each line.") + Environment.NewLine +
            Report.Invariant($"slow: {SlowRecords} readings, one every {SlowInterval.TotalMilliseconds:F0} ms; load: {LoadRecords:N0} readings written as fast as the pipe takes them; {Sensors} sensors; after {Warmup} untimed readings each."));

        var slow = new Dictionary<string, List<double>>();
        var load = new Dictionary<string, (List<double> Latencies, double PerSecond)>();
        foreach (var (name, file, arguments) in new[] { ("(b) cat", "cat", Array.Empty<string>()), ("(a) infer stream", ScoringHarness.DotnetHost(), stream) })
        {
            await using var pipe = LinePipe.Start(file, arguments, IsAlert);
            await WriteAsync(pipe, 0, Warmup, TimeSpan.Zero);
            await pipe.WaitForAnswersAsync(Warmup, Guard);
            await WriteAsync(pipe, Warmup, SlowRecords, SlowInterval);
            await pipe.WaitForAnswersAsync(Warmup + SlowRecords, Guard);
            slow[name] = pipe.Latencies(Warmup);

            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            await WriteAsync(pipe, Warmup + SlowRecords, LoadRecords, TimeSpan.Zero);
            await pipe.WaitForAnswersAsync(Warmup + SlowRecords + LoadRecords, Guard);
            var seconds = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds;
            load[name] = (pipe.Latencies(Warmup + SlowRecords), LoadRecords / seconds);
        }

        Report.Line($"{"",-46} {"median ms",10} {"p99",10} {"max",10} {"n",7}");
        foreach (var (name, samples) in slow)
        {
            Row($"slow: {name}", samples);
        }

        foreach (var (name, (samples, _)) in load)
        {
            Row($"load: {name}", samples);
        }

        foreach (var (name, (_, perSecond)) in load)
        {
            Report.Line($"load: {name}: {perSecond:N0} readings/s end to end");
        }

        Report.Line($"difference in slow medians (a) - (b) = {Stats.Median(slow["(a) infer stream"]) - Stats.Median(slow["(b) cat"]):F2} ms (the bound is {MaxLatencyMs} ms)");
        await MemoryAsync(stream);
    }

    private static async Task MemoryAsync(string[] stream)
    {
        Report.Line($"memory: {LongRecords:N0} readings of {Sensors} sensors as fast as the pipe takes them; infer stream's VmRSS at the start (after {Warmup} readings), middle and end");
        await using var pipe = LinePipe.Start(ScoringHarness.DotnetHost(), stream, IsAlert);
        await WriteAsync(pipe, 0, Warmup, TimeSpan.Zero);
        await pipe.WaitForAnswersAsync(Warmup, Guard);
        var samples = new List<(int Records, double? MiB)> { (Warmup, pipe.ResidentMiB()) };
        const int Parts = 4;
        for (var part = 0; part < Parts; part++)
        {
            var first = Warmup + (part * (LongRecords / Parts));
            await WriteAsync(pipe, first, LongRecords / Parts, TimeSpan.Zero);
            await pipe.WaitForAnswersAsync(first + (LongRecords / Parts), Guard);
            samples.Add((first + (LongRecords / Parts), pipe.ResidentMiB()));
        }

        foreach (var (records, mib) in samples)
        {
            Report.Line($"  after {records,9:N0} readings: {(mib is { } m ? m.ToString("F1", CultureInfo.InvariantCulture) + " MiB" : "n/a (no /proc)")}");
        }
    }

    private static void Row(string label, List<double> samples) =>
        Report.Line($"{label,-46} {Stats.Median(samples),10:F2} {Stats.Percentile(samples, 0.99),10:F2} {samples.Max(),10:F2} {samples.Count,7}");

    private static bool IsAlert(string line) => line.StartsWith("{\"alert\"", StringComparison.Ordinal);

    /// <summary>Readings numbered from <paramref name="first"/>: sensor (i mod 50), values around a healthy pump's, every 17th overheating.</summary>
    private static async Task WriteAsync(LinePipe pipe, int first, int count, TimeSpan interval)
    {
        for (var i = first; i < first + count; i++)
        {
            var hot = i % 17 == 0;
            await pipe.WriteAsync(Report.Invariant(
                $"{{\"key\":\"pump-{i % Sensors:D2}\",\"temperature\":{(hot ? 86.5 : 60 + (i % 7 * 0.3)):F2},\"vibration\":{(hot ? 7.1 : 2.0 + (i % 5 * 0.05)):F3},\"pressure\":{(hot ? 3.5 : 5.0 - (i % 3 * 0.04)):F3},\"rpm\":{1480 - (i % 11):F1}}}"));
            if (interval > TimeSpan.Zero)
            {
                await Task.Delay(interval);
            }
        }
    }
}

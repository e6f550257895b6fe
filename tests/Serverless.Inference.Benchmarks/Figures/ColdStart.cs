using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Serverless.Inference.Benchmarks.Harness;

namespace Serverless.Inference.Benchmarks.Figures;

/// <summary>
/// Figure 4: process start to the first successful iris answer from <c>dotnet infer.dll serve</c>, against
/// a bare console program that creates the session, runs one row and exits. Both run as <c>dotnet X.dll</c>
/// (JIT, framework-dependent), from this program's output folder.
/// </summary>
internal static partial class ColdStart
{
    private const int Repetitions = 7;
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(5);
    private static readonly TimeSpan GiveUpAfter = TimeSpan.FromSeconds(60);
    // serve always watches a drop folder; the benchmark gives it a throwaway one instead of the current directory.
    private static readonly string DropFolder = Path.Combine(Path.GetTempPath(), "infer-coldstart-batch");

    public static async Task RunAsync()
    {
        var folder = AppContext.BaseDirectory;
        var infer = Path.Combine(folder, "infer.dll");
        var baseline = Path.Combine(folder, "Serverless.Inference.ColdStartBaseline.dll");
        var irisModel = Path.Combine(Loopback.ModelRepository, "iris", "1", "model.onnx");
        var dotnet = DotnetHost();
        Report.Title(
            "coldstart: process start to the first iris answer",
            Report.Invariant($"(a) dotnet infer.dll serve --port <free>, POST /v2/models/iris/infer every {PollInterval.TotalMilliseconds:F0} ms until a 200; (b) baseline: dotnet Serverless.Inference.ColdStartBaseline.dll <iris model.onnx>, start to exit.") + Environment.NewLine +
            Report.Invariant($"{Repetitions} repetitions each, alternating (ab, ba, ...), after one untimed run of each; host: {dotnet}"));

        using var client = Loopback.Client();
        client.Timeout = TimeSpan.FromSeconds(10);
        await TimeServeAsync(dotnet, infer, client);
        await TimeBaselineAsync(dotnet, baseline, irisModel);

        var serve = new List<ServeStart>();
        var bare = new List<double>();
        for (var i = 0; i < Repetitions; i++)
        {
            if (i % 2 == 0)
            {
                serve.Add(await TimeServeAsync(dotnet, infer, client));
                bare.Add(await TimeBaselineAsync(dotnet, baseline, irisModel));
            }
            else
            {
                bare.Add(await TimeBaselineAsync(dotnet, baseline, irisModel));
                serve.Add(await TimeServeAsync(dotnet, infer, client));
            }
        }

        Report.Columns("ms");
        var serveTotals = serve.Select(s => s.FirstAnswerMs).ToList();
        Report.Row("(a) infer serve: start -> first 200", serveTotals, "F0");
        Report.Row("(b) bare session + one run: start -> exit", bare, "F0");
        Report.Line($"difference (a) - (b) = {Stats.Median(serveTotals) - Stats.Median(bare):F0} ms");
        Report.Ratio("serve first answer / bare process", Stats.Median(serveTotals) / Stats.Median(bare));

        Report.Line($"serve breakdown (medians; from the child's own console output, seen through a pipe):");
        Report.Row("  start -> 'Serving ...' line on its stdout", [.. serve.Select(s => s.ListeningMs)], "F0");
        Report.Row("  start -> first poll that got through", [.. serve.Select(s => s.FirstConnectMs)], "F0");
        Report.Row("  host's model load: total", [.. serve.Select(s => s.LoadMs)], "F0");
        Report.Row("  host's model load: session create", [.. serve.Select(s => s.SessionMs)], "F0");
        Report.Row("  host's model load: warmup run", [.. serve.Select(s => s.WarmupMs)], "F0");
        Report.Line($"  polls sent before the 200 (median): {Stats.Median([.. serve.Select(s => (double)s.Polls)]):F0}");
    }

    private static async Task<ServeStart> TimeServeAsync(string dotnet, string infer, HttpClient client)
    {
        var port = Loopback.FreePort();
        var uri = new Uri($"http://127.0.0.1:{port}/v2/models/iris/infer");
        var body = InferBodies.JsonRequest("Features", [1, 4], [5.1f, 3.5f, 1.4f, 0.2f]);
        var info = new ProcessStartInfo(dotnet)
        {
            ArgumentList = { infer, "serve", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--repository", Loopback.ModelRepository, "--drop-folder", DropFolder },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };

        double? listening = null;
        Match? loaded = null;
        var lines = new List<string>();
        var start = Stopwatch.GetTimestamp();
        using var process = Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start");
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not { } line)
            {
                return;
            }

            lock (lines)
            {
                lines.Add(line);
                if (listening is null && line.StartsWith("Serving", StringComparison.Ordinal))
                {
                    listening = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                }

                if (LoadedLine().Match(line) is { Success: true } match)
                {
                    loaded = match;
                }
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                lock (lines)
                {
                    lines.Add(line);
                }
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        bool SawBoth()
        {
            lock (lines)
            {
                return listening is not null && loaded is not null;
            }
        }

        try
        {
            var polls = 0;
            double? firstConnect = null;
            while (true)
            {
                polls++;
                try
                {
                    using var request = InferBodies.Post(uri, body, null);
                    var sent = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                    using var response = await client.SendAsync(request);
                    await response.Content.ReadAsByteArrayAsync();
                    firstConnect ??= sent;
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        var total = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                        // The log line is written before the answer; give the pipe a moment to deliver it.
                        for (var wait = 0; wait < 100 && !SawBoth(); wait++)
                        {
                            await Task.Delay(10);
                        }

                        lock (lines)
                        {
                            return new ServeStart(total, listening ?? double.NaN, firstConnect.Value, polls, loaded);
                        }
                    }
                }
                catch (HttpRequestException) when (!process.HasExited)
                {
                    // Not listening yet.
                }

                if (process.HasExited || Stopwatch.GetElapsedTime(start) > GiveUpAfter)
                {
                    lock (lines)
                    {
                        throw new InvalidOperationException("infer serve gave no answer; its output:" + Environment.NewLine + string.Join(Environment.NewLine, lines));
                    }
                }

                await Task.Delay(PollInterval);
            }
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    private static async Task<double> TimeBaselineAsync(string dotnet, string baseline, string model)
    {
        var info = new ProcessStartInfo(dotnet)
        {
            ArgumentList = { baseline, model },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var start = Stopwatch.GetTimestamp();
        using var process = Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var elapsed = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        return process.ExitCode == 0
            ? elapsed
            : throw new InvalidOperationException(Report.Invariant($"the baseline exited {process.ExitCode}: {await output}{await error}"));
    }

    /// <summary>The dotnet host that runs this program, so both children use the same runtime.</summary>
    private static string DotnetHost()
    {
        // The runtime directory is <dotnet root>/shared/Microsoft.NETCore.App/<version>/.
        var root = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
        var candidate = Path.Combine(root, OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet");
        return File.Exists(candidate) ? candidate : "dotnet";
    }

    [GeneratedRegex(@"Loaded model iris version \S+ in (\d+) ms \(download (\d+), session (\d+), warmup (\d+)\)")]
    private static partial Regex LoadedLine();

    private sealed record ServeStart(double FirstAnswerMs, double ListeningMs, double FirstConnectMs, int Polls, Match? Loaded)
    {
        public double LoadMs => Group(1);

        public double SessionMs => Group(3);

        public double WarmupMs => Group(4);

        private double Group(int index) =>
            Loaded is null ? double.NaN : double.Parse(Loaded.Groups[index].Value, System.Globalization.CultureInfo.InvariantCulture);
    }
}

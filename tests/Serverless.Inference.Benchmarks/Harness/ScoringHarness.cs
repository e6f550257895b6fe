using System.Diagnostics;
using System.Globalization;
using Serverless.Inference.Batch;
using Serverless.Inference.Hosting;
using Serverless.Inference.Repository;

namespace Serverless.Inference.Benchmarks.Harness;

/// <summary>Batch scoring of files on local disk, as the local drop folder and <c>infer score</c> open them.</summary>
internal static class ScoringHarness
{
    /// <summary>A model host over the sample repository beside this program.</summary>
    public static ModelHost SampleHost() => new(new LocalFolderModelStore(Loopback.ModelRepository), new ModelHostOptions());

    /// <summary>
    /// Scores one file end to end: FileStream in, <see cref="BatchScorer.ScoreAsync"/>, FileStream out (replaced
    /// if it exists), timed from opening the input to closing the output. Null micro-batch: the model's default.
    /// </summary>
    /// <param name="overlapped">Whether the scorer reads the next micro-batch while it runs this one (its default).</param>
    public static async Task<(TimeSpan Elapsed, BatchSummary Summary)> ScoreAsync(ModelLease lease, string input, string output, BatchFormat format, int? microBatch, bool overlapped = true)
    {
        var scorer = new BatchScorer(lease, new BatchOptions { MicroBatchSize = microBatch, Overlapped = overlapped });
        if (microBatch is { } wanted && scorer.MicroBatchSize != wanted)
        {
            throw new InvalidOperationException(Report.Invariant($"asked for micro-batches of {wanted}, the scorer uses {scorer.MicroBatchSize}"));
        }

        var job = new BatchJob(Path.GetFileName(input), "benchmark", format);
        var start = Stopwatch.GetTimestamp();
        BatchSummary summary;
        await using (var source = new FileStream(input, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true))
        await using (var results = new FileStream(output, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
        {
            summary = await scorer.ScoreAsync(source, results, job, null, CancellationToken.None);
        }

        return (Stopwatch.GetElapsedTime(start), summary);
    }

    /// <summary>
    /// Runs this program again as a child (a fresh process, so its peak memory is its own) and returns the line of
    /// figures it printed; throws with what it wrote when it failed or printed no such line.
    /// </summary>
    public static async Task<System.Text.RegularExpressions.Match> RunChildAsync(string dotnet, string program, System.Text.RegularExpressions.Regex line, params string[] arguments)
    {
        var info = new ProcessStartInfo(dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(program);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var text = await output;
        var match = line.Match(text);
        return process.ExitCode == 0 && match.Success
            ? match
            : throw new InvalidOperationException(Report.Invariant($"{string.Join(' ', arguments)} exited {process.ExitCode}: {text}{await error}"));
    }

    /// <summary>The dotnet host that runs this program, so a child uses the same runtime.</summary>
    public static string DotnetHost()
    {
        // The runtime directory is <dotnet root>/shared/Microsoft.NETCore.App/<version>/.
        var root = Path.GetFullPath(Path.Combine(System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
        var candidate = Path.Combine(root, OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet");
        return File.Exists(candidate) ? candidate : "dotnet";
    }

    /// <summary>Resident set size now and its peak (VmRSS, VmHWM) in KiB from /proc/self/status; null off Linux.</summary>
    public static (long RssKiB, long PeakKiB)? ResidentSet()
    {
        const string Status = "/proc/self/status";
        if (!File.Exists(Status))
        {
            return null;
        }

        long rss = -1, peak = -1;
        foreach (var line in File.ReadLines(Status))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = KiB(line);
            }
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                peak = KiB(line);
            }
        }

        return rss < 0 || peak < 0 ? null : (rss, peak);

        static long KiB(string line) =>
            long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture);
    }
}

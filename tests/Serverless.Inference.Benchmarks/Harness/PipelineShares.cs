using System.Diagnostics;
using System.Net;
using Serverless.Inference.Hosting;
using Serverless.Inference.Pipelines;

namespace Serverless.Inference.Benchmarks.Harness;

/// <summary>A variant of a pipeline figure: its label and one timed call, in milliseconds.</summary>
internal sealed record PipelineVariant(string Label, Func<Task<double>> Measure);

/// <summary>
/// What the pipeline figures share: running steps alone, timing a call or an HTTP request, and the measurement loop
/// — five variants (a) preprocess, (b) bare Run, (c) postprocess, (d) whole pipeline, (e) HTTP, in rotated order.
/// </summary>
internal static class PipelineShares
{
    public const int Rounds = 20;
    public const int PerRound = 5;
    public const int WarmupCalls = 5;

    /// <summary>The model as the serve host loaded it, with how long that took.</summary>
    public static async Task<ModelLease> LoadAsync(ServeHost serve, string model)
    {
        var lease = await serve.Models.AcquireAsync(model, null, CancellationToken.None);
        var load = lease.LoadReport;
        Report.Line($"{model} loaded by the serve host in {load.Total.TotalMilliseconds:F0} ms (session {load.SessionCreate.TotalMilliseconds:F0} ms, warmup {load.Warmup.TotalMilliseconds:F0} ms)");
        return lease;
    }

    /// <summary>The model's pre- and postprocessing steps, built on their own so each can be timed alone.</summary>
    public static (List<IPipelineOperation> Preprocess, List<IPipelineOperation> Postprocess) Steps(ModelLease lease, string assetFile)
    {
        var pipeline = lease.Manifest.Pipeline ?? throw new InvalidOperationException($"{lease.Name} has no pipeline");
        var assets = new Dictionary<string, string> { [assetFile] = Path.Combine(Loopback.ModelRepository, lease.Name, lease.Version, assetFile) };
        var context = new PipelineBuildContext(assets, lease.Model.Signature);
        return ([.. pipeline.Preprocess.Select(step => step.Create(context))], [.. pipeline.Postprocess.Select(step => step.Create(context))]);
    }

    public static PipelineRun Apply(IReadOnlyList<IPipelineOperation> steps, params PipelineTensor[] inputs)
    {
        var run = new PipelineRun(CancellationToken.None);
        foreach (var input in inputs)
        {
            run.Set(input);
        }

        foreach (var step in steps)
        {
            step.Apply(run);
        }

        return run;
    }

    public static Task<double> Time(Action action)
    {
        var start = Stopwatch.GetTimestamp();
        action();
        return Task.FromResult(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
    }

    public static async Task<double> TimeRequestAsync(HttpClient client, Uri uri, byte[] body, int? headerLength)
    {
        var start = Stopwatch.GetTimestamp();
        using var request = InferBodies.Post(uri, body, headerLength);
        using var response = await client.SendAsync(request);
        await response.Content.ReadAsByteArrayAsync();
        var elapsed = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        return response.StatusCode == HttpStatusCode.OK
            ? elapsed
            : throw new InvalidOperationException(Report.Invariant($"the host answered {(int)response.StatusCode}"));
    }

    /// <summary>Warms every variant up, then measures them round-robin, the starting variant rotated every round.</summary>
    /// <returns>The samples of each variant, in the order given.</returns>
    public static async Task<List<double>[]> MeasureAsync(IReadOnlyList<PipelineVariant> variants)
    {
        var samples = variants.Select(_ => new List<double>()).ToArray();
        foreach (var variant in variants)
        {
            for (var i = 0; i < WarmupCalls; i++)
            {
                await variant.Measure();
            }
        }

        for (var round = 0; round < Rounds; round++)
        {
            for (var k = 0; k < variants.Count; k++)
            {
                var v = (round + k) % variants.Count;
                for (var i = 0; i < PerRound; i++)
                {
                    samples[v].Add(await variants[v].Measure());
                }
            }
        }

        return samples;
    }

    /// <summary>Prints the table and the shares of (d); returns the medians of (a) to (e).</summary>
    public static (double Pre, double Run, double Post, double Whole, double Http) PrintShares(
        string heading, IReadOnlyList<PipelineVariant> variants, List<double>[] samples, string item, int batch)
    {
        Console.WriteLine();
        Console.WriteLine(heading);
        Report.Columns("ms");
        for (var v = 0; v < variants.Count; v++)
        {
            Report.Row(variants[v].Label, samples[v], "F3");
        }

        var (pre, run, post, whole, http) = (Stats.Median(samples[0]), Stats.Median(samples[1]), Stats.Median(samples[2]), Stats.Median(samples[3]), Stats.Median(samples[4]));
        Report.Line($"share of (d): preprocess {100 * pre / whole:F1} %, session Run {100 * run / whole:F1} %, postprocess {100 * post / whole:F2} %, the rest (checks, copies) {100 * (whole - pre - run - post) / whole:F1} %");
        Report.Line($"per {item}: preprocess {pre / batch:F3} ms, session Run {run / batch:F3} ms; (d) is {100 * whole / http:F0} % of the HTTP request (e)");
        return (pre, run, post, whole, http);
    }
}

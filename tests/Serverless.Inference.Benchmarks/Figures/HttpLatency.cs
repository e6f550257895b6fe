using System.Diagnostics;
using System.Net;
using Microsoft.ML.OnnxRuntime;
using Serverless.Inference.Benchmarks.Harness;

namespace Serverless.Inference.Benchmarks.Figures;

/// <summary>
/// Figure 1: one ResNet18 request at a time. Baseline: a bare <see cref="InferenceSession.Run(RunOptions, IReadOnlyCollection{string}, IReadOnlyCollection{OrtValue}, IReadOnlyCollection{string})"/>
/// on the very session the serve host loaded, with a pre-built input; candidates: the full HTTP path through the
/// real host, with the binary tensor extension and with JSON.
/// </summary>
internal static class HttpLatency
{
    private const string Model = "resnet18";
    private const string Input = "Input247";
    private const int Rounds = 20;
    private const int PerRound = 4;
    private const int WarmupRequests = 4;
    private static readonly long[] Shape = [1, 3, 224, 224];

    public static async Task RunAsync()
    {
        Report.Title(
            "http: ResNet18, one 1x3x224x224 FP32 request at a time",
            Report.Invariant($"(a) bare InferenceSession.Run on the host's own session, pre-built OrtValue; (b) POST /v2/models/{Model}/infer with the binary tensor extension; (c) the same in JSON.") + Environment.NewLine +
            Report.Invariant($"{Rounds} rounds x {PerRound} requests per variant, the order rotated every round (abc, bca, cab, ...); latency per request, client side."));

        var data = new float[Shape.Aggregate(1L, (p, d) => p * d)];
        var random = new Random(42);
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = random.NextSingle();
        }

        await using var serve = await ServeHost.StartAsync(Loopback.ModelRepository, 16 * 1024 * 1024);
        using var lease = await serve.Models.AcquireAsync(Model, null, CancellationToken.None);
        var load = lease.LoadReport;
        Report.Line($"{Model} loaded by the serve host in {load.Total.TotalMilliseconds:F0} ms (session {load.SessionCreate.TotalMilliseconds:F0} ms, warmup {load.Warmup.TotalMilliseconds:F0} ms)");

        var session = lease.Model.Session;
        string[] inputNames = [Input];
        string[] outputNames = [.. lease.Model.Signature.Outputs.Select(o => o.Name)];
        using var input = OrtValue.CreateTensorValueFromMemory(data, Shape);
        OrtValue[] inputValues = [input];
        using var runOptions = new RunOptions();

        var uri = new Uri(serve.BaseAddress, $"/v2/models/{Model}/infer");
        var (binaryBody, headerLength) = InferBodies.BinaryRequest(Input, Shape, data);
        var jsonBody = InferBodies.JsonRequest(Input, Shape, data);
        using var client = Loopback.Client();

        Report.Line($"request bodies: binary {binaryBody.Length / 1024.0:F0} KiB (JSON header {headerLength} B), JSON {jsonBody.Length / 1024.0:F0} KiB");
        var expected = BareRun();
        CheckAgrees("binary", expected, await AnswerAsync(binaryBody, headerLength));
        CheckAgrees("JSON", expected, await AnswerAsync(jsonBody, null));

        var variants = new (string Label, Func<Task<double>> Measure)[]
        {
            ("(a) bare InferenceSession.Run", () => Task.FromResult(Time(RunOnly))),
            ("(b) full HTTP, binary tensor extension", () => TimeRequestAsync(binaryBody, headerLength)),
            ("(c) full HTTP, JSON", () => TimeRequestAsync(jsonBody, null)),
        };
        var samples = variants.Select(_ => new List<double>()).ToArray();
        foreach (var variant in variants)
        {
            for (var i = 0; i < WarmupRequests; i++)
            {
                await variant.Measure();
            }
        }

        var roundRatios = new List<double>[] { [], [] };
        for (var round = 0; round < Rounds; round++)
        {
            var medians = new double[variants.Length];
            for (var k = 0; k < variants.Length; k++)
            {
                var v = (round + k) % variants.Length;
                var inRound = new List<double>(PerRound);
                for (var i = 0; i < PerRound; i++)
                {
                    inRound.Add(await variants[v].Measure());
                }

                samples[v].AddRange(inRound);
                medians[v] = Stats.Median(inRound);
            }

            roundRatios[0].Add(medians[1] / medians[0]);
            roundRatios[1].Add(medians[2] / medians[0]);
        }

        Report.Columns("ms");
        for (var v = 0; v < variants.Length; v++)
        {
            Report.Row(variants[v].Label, samples[v]);
        }

        var bare = Stats.Median(samples[0]);
        var binaryRatio = Stats.Median(samples[1]) / bare;
        Report.Ratio("full HTTP binary / bare Run", binaryRatio, "<= 1.10", binaryRatio <= 1.10);
        Report.Ratio("full HTTP JSON / bare Run", Stats.Median(samples[2]) / bare);
        Report.Line($"per-round ratios (binary / bare): median {Stats.Median(roundRatios[0]):F2}, p10 {Stats.Percentile(roundRatios[0], 0.1):F2}, p90 {Stats.Percentile(roundRatios[0], 0.9):F2}; (JSON / bare): median {Stats.Median(roundRatios[1]):F2}");
        Report.Line($"overhead over bare Run: binary {Stats.Median(samples[1]) - bare:F2} ms, JSON {Stats.Median(samples[2]) - bare:F2} ms");

        void RunOnly()
        {
            using var results = session.Run(runOptions, inputNames, inputValues, outputNames);
        }

        float[] BareRun()
        {
            using var results = session.Run(runOptions, inputNames, inputValues, outputNames);
            return results[0].GetTensorDataAsSpan<float>().ToArray();
        }

        async Task<float[]> AnswerAsync(byte[] body, int? binaryHeaderLength)
        {
            using var request = InferBodies.Post(uri, body, binaryHeaderLength);
            using var response = await client.SendAsync(request);
            var bytes = await response.Content.ReadAsByteArrayAsync();
            return response.StatusCode == HttpStatusCode.OK
                ? InferBodies.FirstOutput(response, bytes)
                : throw new InvalidOperationException(Report.Invariant($"{(int)response.StatusCode}: {System.Text.Encoding.UTF8.GetString(bytes)}"));
        }

        async Task<double> TimeRequestAsync(byte[] body, int? binaryHeaderLength)
        {
            var start = Stopwatch.GetTimestamp();
            using var request = InferBodies.Post(uri, body, binaryHeaderLength);
            using var response = await client.SendAsync(request);
            await response.Content.ReadAsByteArrayAsync();
            var elapsed = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            return response.StatusCode == HttpStatusCode.OK
                ? elapsed
                : throw new InvalidOperationException(Report.Invariant($"the host answered {(int)response.StatusCode}"));
        }
    }

    private static double Time(Action action)
    {
        var start = Stopwatch.GetTimestamp();
        action();
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }

    private static void CheckAgrees(string path, float[] expected, float[] actual)
    {
        if (expected.Length != actual.Length)
        {
            throw new InvalidOperationException(Report.Invariant($"the {path} answer has {actual.Length} values, the bare run {expected.Length}"));
        }

        var worst = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        Report.Line($"{path} answer agrees with the bare run: {actual.Length} values, max |difference| {worst:G3}");
        if (worst > 1e-4)
        {
            throw new InvalidOperationException(Report.Invariant($"the {path} answer differs from the bare run by {worst}"));
        }
    }
}

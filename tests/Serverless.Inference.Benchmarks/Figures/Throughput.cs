using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;
using Serverless.Inference.Benchmarks.Harness;

namespace Serverless.Inference.Benchmarks.Figures;

/// <summary>
/// Figure 3: iris requests per second under concurrent loopback load. Candidate: the real serve host
/// answering POST /v2/models/iris/infer. Baseline: the least a Kestrel app can do for the same answer —
/// four floats in, Run on the same session, scores out.
/// </summary>
internal static class Throughput
{
    private const int Concurrency = 16;
    private const int RoundsEach = 5;
    private static readonly TimeSpan RoundLength = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan WarmupLength = TimeSpan.FromSeconds(2);
    private const int WarmupRoundsEach = 2;
    private static readonly float[] Row = [5.1f, 3.5f, 1.4f, 0.2f];

    public static async Task RunAsync()
    {
        Report.Title(
            "throughput: iris, one-row requests under concurrent loopback load",
            Report.Invariant($"(a) the serve host, POST /v2/models/iris/infer with a 1-row JSON request; (b) a bare Kestrel app (slim builder, one MapPost) running the same session.") + Environment.NewLine +
            Report.Invariant($"Load: in-process HttpClient, {Concurrency} concurrent loops, {RoundsEach} rounds of {RoundLength.TotalSeconds:F0} s each, alternating a/b (after {WarmupRoundsEach} x {WarmupLength.TotalSeconds:F1} s of warm-up each, so tiered JIT has settled)."));

        await using var serve = await ServeHost.StartAsync(Loopback.ModelRepository, 16 * 1024 * 1024);
        using var lease = await serve.Models.AcquireAsync("iris", null, CancellationToken.None);
        var session = lease.Model.Session;
        string[] outputNames = [.. lease.Model.Signature.Outputs.Select(o => o.Name)];
        await using var bare = await StartBareAsync(session, outputNames);

        var serveUri = new Uri(serve.BaseAddress, "/v2/models/iris/infer");
        var serveBody = InferBodies.JsonRequest("Features", [1, 4], Row);
        var bareUri = new Uri(Harness.ServeHost.BaseAddressOf(bare), "/run");
        var bareBody = JsonSerializer.SerializeToUtf8Bytes(Row, BareJson.Default.SingleArray);
        Report.Line($"request bodies: (a) {serveBody.Length} B, (b) {Encoding.UTF8.GetString(bareBody)}");

        using var client = Loopback.Client(maxConnections: 64);
        await CheckAnswersAgreeAsync(client, serveUri, serveBody, bareUri, bareBody);

        var variants = new (string Label, Uri Uri, byte[] Body)[]
        {
            ("(a) serve host, OIP JSON", serveUri, serveBody),
            ("(b) bare Kestrel + Run (baseline)", bareUri, bareBody),
        };
        for (var i = 0; i < WarmupRoundsEach; i++)
        {
            foreach (var (_, uri, body) in variants)
            {
                await LoadAsync(client, uri, body, WarmupLength);
            }
        }

        var rates = variants.Select(_ => new List<double>()).ToArray();
        var cpu = variants.Select(_ => new List<double>()).ToArray();
        long requests = 0, errors = 0;
        for (var round = 0; round < 2 * RoundsEach; round++)
        {
            var v = round % 2;
            var result = await LoadAsync(client, variants[v].Uri, variants[v].Body, RoundLength);
            rates[v].Add(result.Ok / result.Elapsed.TotalSeconds);
            cpu[v].Add(result.Cpu.TotalMicroseconds / Math.Max(1, result.Ok));
            requests += result.Ok + result.Errors;
            errors += result.Errors;
        }

        Report.Columns("req/s");
        Report.Row(variants[0].Label, rates[0], "F0");
        Report.Row(variants[1].Label, rates[1], "F0");
        var ratio = Stats.Median(rates[0]) / Stats.Median(rates[1]);
        Report.Ratio("serve host / bare Kestrel + Run", ratio, ">= 0.85", ratio >= 0.85);
        var pairs = rates[0].Zip(rates[1], (a, b) => a / b).ToList();
        Report.Line($"per-pair ratios (round a_i / round b_i): median {Stats.Median(pairs):F2}, min {pairs.Min():F2}, max {pairs.Max():F2}");
        Report.Columns("us");
        Report.Row("(a) CPU per request, whole process", cpu[0], "F1");
        Report.Row("(b) CPU per request, whole process", cpu[1], "F1");
        Report.Ratio("CPU per request, bare / serve host: less swayed by other processes on the machine", Stats.Median(cpu[1]) / Stats.Median(cpu[0]));
        Report.Line($"responses checked: {requests}, not 200 or failed: {errors}");
    }

    private static async Task<WebApplication> StartBareAsync(InferenceSession session, string[] outputNames)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0);
            kestrel.AddServerHeader = false;
        });
        var app = builder.Build();
        string[] inputNames = [session.InputNames[0]];
        var runOptions = new RunOptions();
        app.Lifetime.ApplicationStopped.Register(runOptions.Dispose);
        app.MapPost("/run", async context =>
        {
            var features = await JsonSerializer.DeserializeAsync(context.Request.Body, BareJson.Default.SingleArray, context.RequestAborted);
            if (features is not { Length: 4 })
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                return;
            }

            float[] scores;
            using (var input = OrtValue.CreateTensorValueFromMemory(features, [1, 4]))
            using (var results = session.Run(runOptions, inputNames, [input], outputNames))
            {
                scores = results[0].GetTensorDataAsSpan<float>().ToArray();
            }

            context.Response.ContentType = "application/json";
            await JsonSerializer.SerializeAsync(context.Response.Body, scores, BareJson.Default.SingleArray, context.RequestAborted);
        });
        await app.StartAsync();
        return app;
    }

    private static async Task CheckAnswersAgreeAsync(HttpClient client, Uri serveUri, byte[] serveBody, Uri bareUri, byte[] bareBody)
    {
        using var serveRequest = InferBodies.Post(serveUri, serveBody, null);
        using var serveResponse = await client.SendAsync(serveRequest);
        var serveBytes = await serveResponse.Content.ReadAsByteArrayAsync();
        using var bareRequest = InferBodies.Post(bareUri, bareBody, null);
        using var bareResponse = await client.SendAsync(bareRequest);
        var bareBytes = await bareResponse.Content.ReadAsByteArrayAsync();
        if (serveResponse.StatusCode != HttpStatusCode.OK || bareResponse.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException(Report.Invariant($"warm-up answers: {(int)serveResponse.StatusCode}, {(int)bareResponse.StatusCode}"));
        }

        var fromServe = InferBodies.FirstOutput(serveResponse, serveBytes);
        var fromBare = JsonSerializer.Deserialize(bareBytes, BareJson.Default.SingleArray)!;
        if (!fromServe.SequenceEqual(fromBare))
        {
            throw new InvalidOperationException("the two servers disagree on the scores");
        }

        Report.Line($"both answer scores [{string.Join(", ", fromServe.Select(s => s.ToString("G4", System.Globalization.CultureInfo.InvariantCulture)))}]");
    }

    private static async Task<LoadResult> LoadAsync(HttpClient client, Uri uri, byte[] body, TimeSpan duration)
    {
        long ok = 0, errors = 0;
        using var self = Process.GetCurrentProcess();
        var cpuBefore = self.TotalProcessorTime;
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
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        Interlocked.Increment(ref ok);
                    }
                    else
                    {
                        Interlocked.Increment(ref errors);
                    }
                }
                catch (HttpRequestException)
                {
                    Interlocked.Increment(ref errors);
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(_ => Task.Run(LoopAsync)));
        var elapsed = Stopwatch.GetElapsedTime(start);
        self.Refresh();
        return new LoadResult(ok, errors, elapsed, self.TotalProcessorTime - cpuBefore);
    }

    /// <param name="Cpu">Processor time of this whole process (load generator and server alike) over the round.</param>
    private sealed record LoadResult(long Ok, long Errors, TimeSpan Elapsed, TimeSpan Cpu);
}

[JsonSerializable(typeof(float[]))]
internal sealed partial class BareJson : JsonSerializerContext;

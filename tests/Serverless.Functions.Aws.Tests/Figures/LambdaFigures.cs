using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Functions.Aws.Runtime;
using Serverless.Inference.Protocol;
using Xunit.Abstractions;

namespace Serverless.Functions.Aws.Tests.Figures;

/// <summary>
/// Figures, printed with the test output (<c>--logger "console;verbosity=detailed"</c>). One run of each in the
/// default test run; AWS_FIGURES_RUNS sets more, AWS_BOOTSTRAP_AOT adds the Native AOT binary, AWS_BOOTSTRAP_R2R the
/// self-contained ReadyToRun one, and
/// AWS_COLDSTART_BASELINE a bare program that only creates the session and runs once (functions-aws/figures.sh sets all three).
/// </summary>
[Trait("Category", "Figures")]
public sealed class LambdaFigures(MotoServer moto, ITestOutputHelper output) : IClassFixture<MotoServer>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static int Runs => int.TryParse(Environment.GetEnvironmentVariable("AWS_FIGURES_RUNS"), CultureInfo.InvariantCulture, out var runs) && runs > 0 ? runs : 1;

    [Fact]
    public async Task ColdStart_ProcessStartToFirstResponsePosted_Medians()
    {
        var binaries = new List<(string Label, string Path)> { ("jit", BootstrapProcess.BuiltExecutable) };
        foreach (var (label, variable) in new[] { ("aot", "AWS_BOOTSTRAP_AOT"), ("r2r", "AWS_BOOTSTRAP_R2R") })
        {
            if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } binary)
            {
                binaries.Add((label, Path.GetFullPath(binary)));
            }
        }

        await using var function = await MotoFunction.CreateAsync(moto);
        foreach (var (label, path) in binaries)
        {
            var local = new List<double>();
            var s3 = new List<double>();
            for (var run = 0; run < Runs; run++)
            {
                local.Add(await ColdStartAsync(path, new Dictionary<string, string> { ["INFERENCE_MODEL_DIR"] = TestModels.Repository }));
                s3.Add(await ColdStartAsync(path, new Dictionary<string, string>(moto.Environment) { ["INFERENCE_BUCKET"] = function.Bucket }));
            }

            output.WriteLine($"cold start {label}, model in local folder: median {Median(local):F0} ms of {Runs} (min {local.Min():F0}, max {local.Max():F0})");
            output.WriteLine($"cold start {label}, model in S3 (moto), empty /tmp: median {Median(s3):F0} ms of {Runs} (min {s3.Min():F0}, max {s3.Max():F0})");
        }

        // Paths separated by ';' (the AOT and the JIT build of the baseline, say).
        foreach (var baseline in (Environment.GetEnvironmentVariable("AWS_COLDSTART_BASELINE") ?? string.Empty).Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            var bare = new List<double>();
            for (var run = 0; run < Runs; run++)
            {
                var start = new ProcessStartInfo(baseline, [TestModels.IrisOnnx]) { UseShellExecute = false };
                start.Environment["DOTNET_ROOT"] = Path.GetFullPath(Path.Combine(System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
                var clock = Stopwatch.StartNew();
                using var process = Process.Start(start)!;
                await process.WaitForExitAsync();
                bare.Add(clock.Elapsed.TotalMilliseconds);
                Assert.Equal(0, process.ExitCode);
            }

            output.WriteLine($"cold start baseline {baseline} (session + one run, then exit): median {Median(bare):F0} ms of {Runs} (min {bare.Min():F0}, max {bare.Max():F0})");
        }
    }

    [Fact]
    public async Task WarmInvocation_LoopAndMappingOverTheCoresOwnCall_Medians()
    {
        var iterations = 200 * Runs;
        using var local = new LocalFunction();
        var services = new ServiceCollection().AddLogging()
            .AddAwsFunction(FunctionSettings.From(name => name == FunctionSettings.ModelDirectoryVariable ? TestModels.Repository : null))
            .BuildServiceProvider();
        await using var _ = services;
        var core = services.GetRequiredService<OpenInferenceHandler>();
        var body = Encoding.UTF8.GetBytes(TestModels.IrisInferBody);
        var eventBytes = Encoding.UTF8.GetBytes(HttpApiEvents.Infer(TestModels.IrisInferBody));

        var coreTimes = await TimeAsync(iterations, async () =>
        {
            var request = new OipHttpRequest("POST", "/v2/models/iris/infer", _ => null, new MemoryStream(body), body.Length);
            using var response = await core.HandleAsync(request, CancellationToken.None);
            Assert.Equal(200, response.StatusCode);
        });
        var mappedTimes = await TimeAsync(iterations, async () =>
        {
            var invocation = new LambdaInvocation("id", null, null, null, null, null, eventBytes);
            await local.Dispatcher.HandleAsync(invocation, CancellationToken.None);
        });

        await using var api = await RuntimeApiServer.StartAsync();
        await using var bootstrap = BootstrapProcess.Start(api.Endpoint, new Dictionary<string, string> { ["INFERENCE_MODEL_DIR"] = TestModels.Repository, ["INFERENCE_WARMUP_MODELS"] = "iris" });
        var eventJson = HttpApiEvents.Infer(TestModels.IrisInferBody);
        var loopTimes = await TimeAsync(iterations, async () =>
        {
            var answer = await api.InvokeAsync(eventJson).WaitAsync(Patience);
            Assert.Equal("response", answer.Kind);
        });

        output.WriteLine($"warm, core HandleAsync: median {Median(coreTimes) * 1000:F0} µs ({iterations} calls)");
        output.WriteLine($"warm, event mapping + core (in process): median {Median(mappedTimes) * 1000:F0} µs");
        output.WriteLine($"warm, full loop through the Runtime API test server (next → handle → response, loopback HTTP): median {Median(loopTimes) * 1000:F0} µs");
        Assert.True(Median(mappedTimes) < 1000, "the event mapping alone should never cost a second");
    }

    private static async Task<double> ColdStartAsync(string executable, Dictionary<string, string> environment)
    {
        // A fresh sandbox: an empty /tmp, so a model in S3 is fetched again.
        var tmp = Directory.CreateTempSubdirectory("aws-coldstart-");
        try
        {
            await using var api = await RuntimeApiServer.StartAsync();
            environment["TMPDIR"] = tmp.FullName;
            environment["INFERENCE_WARMUP_MODELS"] = "iris";
            var pending = api.InvokeAsync(HttpApiEvents.Infer(TestModels.IrisInferBody));
            var clock = Stopwatch.StartNew();
            await using var bootstrap = BootstrapProcess.Start(api.Endpoint, environment, executable);
            var answer = await pending.WaitAsync(Patience);
            var elapsed = clock.Elapsed.TotalMilliseconds;
            Assert.True(answer.Kind == "response" && answer.Json.GetProperty("statusCode").GetInt32() == 200, bootstrap.Output);
            return elapsed;
        }
        finally
        {
            tmp.Delete(recursive: true);
        }
    }

    private static async Task<List<double>> TimeAsync(int iterations, Func<Task> call)
    {
        for (var i = 0; i < 20; i++)
        {
            await call();
        }

        var times = new List<double>(iterations);
        for (var i = 0; i < iterations; i++)
        {
            var clock = Stopwatch.StartNew();
            await call();
            times.Add(clock.Elapsed.TotalMilliseconds);
        }

        return times;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Serverless.Inference.Benchmarks.Harness;
using Serverless.Tests.Support;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace Serverless.Inference.Benchmarks.Figures;

/// <summary>
/// The Lambda cold start of the Native AOT bootstrap, per model (iris, minilm, ppocr-cls): process start to the first
/// answer posted to a Lambda Runtime API on loopback (the documented protocol: next hands out one API Gateway event,
/// the function posts its response), with (a) the model in the bucket (moto S3 on loopback, an empty /tmp, so the
/// download is counted) and (b) the model packaged beside the binary (INFERENCE_MODEL_DIR, the bucket still set, as
/// the stack deploys it), against (c) a bare Native AOT program that creates the same session and runs it once. Both
/// binaries are published by the figure (Native AOT, Release). Each bootstrap start is broken down with its own
/// "Loaded model" line (download, session creation, warm-up) and the time from that line to the answer (first run).
/// </summary>
internal static partial class ColdStartAot
{
    private const int Repetitions = 7;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);
    private static readonly string[] Models = ["iris", "minilm", "ppocr-cls"];

    public static async Task RunAsync()
    {
        var work = Path.Combine(Metadata("BenchmarkObjFolder"), "coldstart-aot");
        var root = Metadata("RepositoryRoot");
        // The bootstrap builds where functions-aws/package.sh builds it (same properties), so after a package.sh run
        // nothing is compiled again; the baseline builds under this project's obj/.
        var bootstrap = await PublishAsync(
            Path.Combine(root, "functions-aws", "Serverless.Functions.Aws", "Serverless.Functions.Aws.csproj"),
            Path.Combine(work, "bootstrap"), Path.Combine(root, "functions-aws", "artifacts", "linux-x64", "build-aot"), "bootstrap");
        var baseline = await PublishAsync(
            Path.Combine(root, "tests", "Serverless.Inference.ColdStartBaseline", "Serverless.Inference.ColdStartBaseline.csproj"),
            Path.Combine(work, "baseline"), Path.Combine(work, "baseline-build"), "Serverless.Inference.ColdStartBaseline", "-p:CppCompilerAndLinker=gcc");
        Report.Title(
            "coldstart-aot: Lambda cold start of the Native AOT bootstrap, model in the bucket vs packaged, vs a bare AOT session",
            Report.Invariant($"process start -> first response posted to a loopback Runtime API (one API Gateway event), INFERENCE_WARMUP_MODELS=<model>; (a) bucket: moto S3 on loopback, empty TMPDIR; (b) packaged: the model under INFERENCE_MODEL_DIR, bucket set; (c) bare AOT program: session + one run, start to exit.") + Environment.NewLine +
            Report.Invariant($"{Repetitions} repetitions each, rotating the order (abc, bca, cab, ...), after one untimed run of each; both binaries Native AOT, Release"));

        await using var moto = await Moto.StartAsync();
        foreach (var model in Models)
        {
            await RunModelAsync(model, bootstrap, baseline, moto);
        }
    }

    private static async Task RunModelAsync(string model, string bootstrap, string baseline, Moto moto)
    {
        var repository = Loopback.ModelRepository;
        var packaged = Path.Combine(Path.GetTempPath(), "coldstart-aot-packaged-" + model);
        CopyModel(repository, packaged, model);
        var bucket = "coldstart-" + model.Replace('-', '0');
        await moto.UploadAsync(bucket, repository, model);
        var threads = ManifestThreads(Path.Combine(repository, model, "model.json"));
        var onnx = Path.Combine(repository, model, "1", "model.onnx");
        var eventJson = Event(model);

        Func<Task<ColdStart>>[] runs =
        [
            () => TimeBootstrapAsync(bootstrap, model, eventJson, moto.Environment(bucket)),
            () => TimeBootstrapAsync(bootstrap, model, eventJson, new Dictionary<string, string>(moto.Environment(bucket)) { ["INFERENCE_MODEL_DIR"] = packaged }),
            () => TimeBaselineAsync(baseline, onnx, threads),
        ];
        foreach (var run in runs)
        {
            await run();
        }

        var samples = new List<ColdStart>[] { [], [], [] };
        for (var i = 0; i < Repetitions; i++)
        {
            for (var j = 0; j < runs.Length; j++)
            {
                var which = (i + j) % runs.Length;
                samples[which].Add(await runs[which]());
            }
        }

        Report.Line($"-- {model} ({new FileInfo(onnx).Length / 1048576.0:F1} MB model.onnx, {threads} intra-op thread(s)) --");
        Report.Columns("ms");
        Report.Row("(a) model in bucket: start -> answer", [.. samples[0].Select(s => s.TotalMs)], "F0");
        Report.Row("(b) model packaged: start -> answer", [.. samples[1].Select(s => s.TotalMs)], "F0");
        Report.Row("(c) bare AOT session + one run -> exit", [.. samples[2].Select(s => s.TotalMs)], "F0");
        foreach (var (label, index) in new[] { ("a", 0), ("b", 1) })
        {
            var runsOf = samples[index];
            Report.Row($"  ({label}) before the load (runtime, DI, next)", [.. runsOf.Select(s => s.BeforeLoadMs)], "F0");
            Report.Row($"  ({label}) download", [.. runsOf.Select(s => s.DownloadMs)], "F0");
            Report.Row($"  ({label}) session creation", [.. runsOf.Select(s => s.SessionMs)], "F0");
            Report.Row($"  ({label}) warm-up", [.. runsOf.Select(s => s.WarmupMs)], "F0");
            Report.Row($"  ({label}) first run (loaded line -> answer)", [.. runsOf.Select(s => s.FirstRunMs)], "F0");
        }

        Report.Ratio("bucket / bare", Stats.Median([.. samples[0].Select(s => s.TotalMs)]) / Stats.Median([.. samples[2].Select(s => s.TotalMs)]));
        Report.Ratio("packaged / bare", Stats.Median([.. samples[1].Select(s => s.TotalMs)]) / Stats.Median([.. samples[2].Select(s => s.TotalMs)]));
        Directory.Delete(packaged, recursive: true);
    }

    private static async Task<ColdStart> TimeBootstrapAsync(string bootstrap, string model, string eventJson, IReadOnlyDictionary<string, string> environment)
    {
        var tmp = Directory.CreateTempSubdirectory("coldstart-aot-tmp-");
        try
        {
            await using var api = await RuntimeApi.StartAsync(eventJson);
            var info = new ProcessStartInfo(bootstrap) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = tmp.FullName };
            foreach (var (name, value) in environment)
            {
                info.Environment[name] = value;
            }

            info.Environment["AWS_LAMBDA_RUNTIME_API"] = api.Endpoint;
            info.Environment["AWS_LAMBDA_FUNCTION_NAME"] = "coldstart";
            info.Environment["INFERENCE_WARMUP_MODELS"] = model;
            info.Environment["TMPDIR"] = tmp.FullName;

            double? loadedAt = null;
            Match? loaded = null;
            var lines = new List<string>();
            var start = Stopwatch.GetTimestamp();
            using var process = Process.Start(info) ?? throw new InvalidOperationException("the bootstrap did not start");
            void OnLine(string? line)
            {
                if (line is null)
                {
                    return;
                }

                lock (lines)
                {
                    lines.Add(line);
                    if (loaded is null && LoadedLine().Match(line) is { Success: true } match)
                    {
                        loadedAt = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                        loaded = match;
                    }
                }
            }

            process.OutputDataReceived += (_, e) => OnLine(e.Data);
            process.ErrorDataReceived += (_, e) => OnLine(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            try
            {
                var answer = await api.Answer.WaitAsync(Patience);
                var total = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                // The loaded line is written before the answer; give the pipe a moment to deliver it.
                bool Seen()
                {
                    lock (lines)
                    {
                        return loaded is not null;
                    }
                }

                for (var wait = 0; wait < 100 && !Seen(); wait++)
                {
                    await Task.Delay(10);
                }

                lock (lines)
                {
                    if (answer.StatusCode != 200 || loaded is null)
                    {
                        throw new InvalidOperationException($"the bootstrap answered {answer.StatusCode} ({answer.Body}); its output:{Environment.NewLine}{string.Join(Environment.NewLine, lines)}");
                    }

                    double Group(int index) => double.Parse(loaded.Groups[index].Value, CultureInfo.InvariantCulture);
                    var loadedMs = loadedAt ?? double.NaN;
                    return new ColdStart(total, loadedMs - Group(1), Group(2), Group(3), Group(4), total - loadedMs);
                }
            }
            finally
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }
        finally
        {
            tmp.Delete(recursive: true);
        }
    }

    private static async Task<ColdStart> TimeBaselineAsync(string baseline, string onnx, int threads)
    {
        var info = new ProcessStartInfo(baseline) { ArgumentList = { onnx, threads.ToString(CultureInfo.InvariantCulture) }, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        var start = Stopwatch.GetTimestamp();
        using var process = Process.Start(info) ?? throw new InvalidOperationException("the baseline did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var elapsed = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        return process.ExitCode == 0
            ? new ColdStart(elapsed, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN)
            : throw new InvalidOperationException(Report.Invariant($"the baseline exited {process.ExitCode}: {await output}{await error}"));
    }

    /// <summary>
    /// Publishes a project Native AOT (Release, linux-x64) into <paramref name="folder"/>, building under
    /// <paramref name="artifacts"/>: incremental when nothing changed. The baseline is linked with gcc, as the bootstrap's
    /// project does by default (the build machines have no clang).
    /// </summary>
    private static async Task<string> PublishAsync(string project, string folder, string artifacts, string executable, params string[] properties)
    {
        var clock = Stopwatch.StartNew();
        var info = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { "publish", project, "-c", "Release", "-r", "linux-x64", "-p:PublishAot=true", "-o", folder, "--artifacts-path", artifacts, "-nologo" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var property in properties)
        {
            info.ArgumentList.Add(property);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("dotnet publish did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"the Native AOT publish of {project} failed:{Environment.NewLine}{await output}{await error}");
        }

        Console.WriteLine(Report.Invariant($"published {Path.GetFileName(project)} (Native AOT) in {clock.Elapsed.TotalSeconds:F0} s"));
        return Path.Combine(folder, executable);
    }

    /// <summary>One API Gateway HTTP API 2.0 event asking the model for one answer.</summary>
    private static string Event(string model)
    {
        object body = model switch
        {
            "iris" => new { inputs = new[] { new { name = "Features", shape = new[] { 1, 4 }, datatype = "FP32", data = (object)new[] { 5.1f, 3.5f, 1.4f, 0.2f } } } },
            "minilm" => new { inputs = new[] { new { name = "text", shape = new[] { 1 }, datatype = "BYTES", data = (object)new[] { "A cold start pays for the model." } } } },
            "ppocr-cls" => new { inputs = new[] { new { name = "image", shape = new[] { 1 }, datatype = "BYTES", data = (object)new[] { Convert.ToBase64String(TextLinePng()) } } } },
            _ => throw new ArgumentOutOfRangeException(nameof(model), model, "no request for this model"),
        };
        return JsonSerializer.Serialize(new
        {
            version = "2.0",
            routeKey = "$default",
            rawPath = $"/v2/models/{model}/infer",
            rawQueryString = "",
            headers = new Dictionary<string, string> { ["content-type"] = "application/json" },
            requestContext = new { http = new { method = "POST", path = $"/v2/models/{model}/infer" }, stage = "$default", requestId = "coldstart" },
            body = JsonSerializer.Serialize(body),
            isBase64Encoded = false,
        });
    }

    /// <summary>A black-on-white "text line" of bars, 160 x 40.</summary>
    private static byte[] TextLinePng()
    {
        using var image = new Image<Rgb24>(160, 40, new Rgb24(255, 255, 255));
        for (var x = 8; x < 152; x++)
        {
            for (var y = 12; y < 30; y++)
            {
                if (x % 12 < 7 && (y < 27 || x % 24 < 7))
                {
                    image[x, y] = new Rgb24(0, 0, 0);
                }
            }
        }

        using var file = new MemoryStream();
        image.Save(file, new PngEncoder());
        return file.ToArray();
    }

    private static void CopyModel(string repository, string target, string model)
    {
        if (Directory.Exists(target))
        {
            Directory.Delete(target, recursive: true);
        }

        foreach (var file in Directory.EnumerateFiles(Path.Combine(repository, model), "*", SearchOption.AllDirectories))
        {
            var destination = Path.Combine(target, Path.GetRelativePath(repository, file));
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            File.Copy(file, destination);
        }
    }

    private static int ManifestThreads(string manifest)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(manifest));
        return document.RootElement.TryGetProperty("intra_op_threads", out var threads) ? threads.GetInt32() : 1;
    }

    private static string Metadata(string key) =>
        typeof(ColdStartAot).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().SingleOrDefault(a => a.Key == key)?.Value
        ?? throw new InvalidOperationException($"the benchmark assembly has no {key} metadata (see the project file)");

    [GeneratedRegex(@"Loaded model \S+ version \S+ in (\d+) ms \(download (\d+), session (\d+), warmup (\d+)\)")]
    private static partial Regex LoadedLine();

    /// <summary>One cold start; the parts are NaN for the bare program, which reports none.</summary>
    private sealed record ColdStart(double TotalMs, double BeforeLoadMs, double DownloadMs, double SessionMs, double WarmupMs, double FirstRunMs);

    private sealed record Answer(int StatusCode, string Body);

    /// <summary>
    /// The Lambda Runtime API (2018-06-01) for one invocation, on 127.0.0.1: next hands out the event once (later calls
    /// wait), the response post completes <see cref="Answer"/>; init/error fails it.
    /// </summary>
    private sealed class RuntimeApi : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly TaskCompletionSource<Answer> _answer = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _handedOut;

        private RuntimeApi(WebApplication app, string endpoint)
        {
            _app = app;
            Endpoint = endpoint;
        }

        public string Endpoint { get; }

        public Task<Answer> Answer => _answer.Task;

        public static async Task<RuntimeApi> StartAsync(string eventJson)
        {
            var port = Loopback.FreePort();
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(System.Net.IPAddress.Loopback, port));
            var app = builder.Build();
            var api = new RuntimeApi(app, $"127.0.0.1:{port}");
            app.MapGet("/2018-06-01/runtime/invocation/next", async (HttpContext context) =>
            {
                if (Interlocked.Exchange(ref api._handedOut, 1) == 1)
                {
                    await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
                    return;
                }

                context.Response.Headers["Lambda-Runtime-Aws-Request-Id"] = "coldstart-1";
                context.Response.Headers["Lambda-Runtime-Deadline-Ms"] = DateTimeOffset.UtcNow.AddMinutes(2).ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
                context.Response.Headers["Lambda-Runtime-Invoked-Function-Arn"] = "arn:aws:lambda:us-east-1:123456789012:function:coldstart";
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync(eventJson);
            });
            app.MapPost("/2018-06-01/runtime/invocation/{id}/response", async (HttpContext context) =>
            {
                using var document = await JsonDocument.ParseAsync(context.Request.Body);
                var status = document.RootElement.GetProperty("statusCode").GetInt32();
                var body = document.RootElement.TryGetProperty("body", out var text) ? text.GetString() ?? "" : "";
                api._answer.TrySetResult(new Answer(status, body));
                context.Response.StatusCode = 202;
            });
            app.MapPost("/2018-06-01/runtime/invocation/{id}/error", async (HttpContext context) =>
            {
                using var reader = new StreamReader(context.Request.Body);
                api._answer.TrySetResult(new Answer(500, await reader.ReadToEndAsync()));
                context.Response.StatusCode = 202;
            });
            app.MapPost("/2018-06-01/runtime/init/error", async (HttpContext context) =>
            {
                using var reader = new StreamReader(context.Request.Body);
                api._answer.TrySetResult(new Answer(-1, "init error: " + await reader.ReadToEndAsync()));
                context.Response.StatusCode = 202;
            });
            await app.StartAsync();
            return api;
        }

        public async ValueTask DisposeAsync()
        {
            using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await _app.StopAsync(patience.Token);
            await _app.DisposeAsync();
        }
    }

    /// <summary>moto's S3 server on loopback; buckets and objects are created with plain path-style requests (moto checks no signature).</summary>
    private sealed class Moto : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(60) };

        private Moto(Process process, string url)
        {
            _process = process;
            Url = url;
        }

        public string Url { get; }

        public static async Task<Moto> StartAsync()
        {
            var port = Loopback.FreePort();
            var info = new ProcessStartInfo(PythonTools.MotoServer, ["-H", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture)])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            var process = Process.Start(info) ?? throw new InvalidOperationException("moto_server did not start");
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var moto = new Moto(process, $"http://127.0.0.1:{port}");
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    using var response = await moto._http.GetAsync(new Uri(moto.Url + "/moto-api/"));
                    if (response.IsSuccessStatusCode)
                    {
                        return moto;
                    }
                }
                catch (HttpRequestException) when (attempt < 300 && !process.HasExited)
                {
                }

                await Task.Delay(100);
            }
        }

        public Dictionary<string, string> Environment(string bucket) => new()
        {
            ["INFERENCE_BUCKET"] = bucket,
            ["AWS_ENDPOINT_URL_S3"] = Url,
            ["AWS_ACCESS_KEY_ID"] = "testing",
            ["AWS_SECRET_ACCESS_KEY"] = "testing",
            ["AWS_REGION"] = "us-east-1",
        };

        public async Task UploadAsync(string bucket, string repository, string model)
        {
            using (var created = await _http.PutAsync(new Uri($"{Url}/{bucket}"), null))
            {
                created.EnsureSuccessStatusCode();
            }

            foreach (var file in Directory.EnumerateFiles(Path.Combine(repository, model), "*", SearchOption.AllDirectories))
            {
                var key = "models/" + Path.GetRelativePath(repository, file).Replace('\\', '/');
                using var content = new StreamContent(File.OpenRead(file));
                using var put = await _http.PutAsync(new Uri($"{Url}/{bucket}/{key}"), content);
                put.EnsureSuccessStatusCode();
            }
        }

        public async ValueTask DisposeAsync()
        {
            _http.Dispose();
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }

            _process.Dispose();
        }
    }
}

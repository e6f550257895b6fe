using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Serverless.Inference.Telemetry;

namespace Serverless.Inference.Tests.Cli;

/// <summary><c>infer serve</c> in its own process: a Prometheus scrape on its port, and OTLP only when the variables ask for it.</summary>
public sealed partial class ServeTelemetryTests : IDisposable
{
    /// <summary>A guard against a test hanging forever; never a timing assertion.</summary>
    private static readonly TimeSpan HangGuard = TimeSpan.FromMinutes(2);

    private const string IrisBody = """{"inputs":[{"name":"Features","shape":[1,4],"datatype":"FP32","data":[5.1,3.5,1.4,0.2]}]}""";

    private readonly string _folder = Directory.CreateTempSubdirectory("serve-telemetry-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task Serve_AfterRequests_PrometheusScrapeCountsThemByModelAndStatus()
    {
        var port = FreePort();
        using var serve = InferProcess.Start(_folder, InferProcess.Infer, "serve", "--port", port.ToString(CultureInfo.InvariantCulture));
        await serve.WaitForOutputAsync("/metrics", HangGuard);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

        for (var i = 0; i < 2; i++)
        {
            using var ok = await http.PostAsync(new Uri("/v2/models/iris/infer", UriKind.Relative), new StringContent(IrisBody));
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        using var bad = await http.PostAsync(new Uri("/v2/models/iris/infer", UriKind.Relative), new StringContent("""{"inputs":[{"name":"Features","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}"""));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        using var scrape = await http.GetAsync(new Uri("/metrics", UriKind.Relative));
        var text = await scrape.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, scrape.StatusCode);
        Assert.StartsWith("text/plain", scrape.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        var samples = Parse(text);
        Assert.Equal(2, Value(samples, "inference_requests_total", ("model_name", "iris"), ("status", "200")));
        Assert.Equal(1, Value(samples, "inference_requests_total", ("model_name", "iris"), ("status", "400")));
        Assert.Equal(2, Value(samples, "inference_request_duration_seconds_count", ("model_name", "iris"), ("status", "200")));
        Assert.Equal(2, Value(samples, "inference_request_duration_seconds_bucket", ("model_name", "iris"), ("status", "200"), ("le", "+Inf")));
        Assert.Contains("# TYPE inference_requests_total counter", text, StringComparison.Ordinal);
        // .NET's runtime meter and ASP.NET Core's server meter come with it.
        Assert.True(Value(samples, "dotnet_process_memory_working_set_bytes") > 0);
        Assert.Contains(samples, s => s.Name.StartsWith("http_server_request_duration_seconds", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Serve_WithOtlpEndpoint_ExportsOurMetricsAndSpansOverHttpProtobuf()
    {
        var collectorPort = FreePort();
        await using var collector = await OtlpReceiver.StartAsync(collectorPort);
        var port = FreePort();
        using var serve = InferProcess.Start(
            _folder,
            new Dictionary<string, string>
            {
                ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Endpoint,
                ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
                ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
                ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
            },
            InferProcess.Infer,
            "serve",
            "--port",
            port.ToString(CultureInfo.InvariantCulture));
        await serve.WaitForOutputAsync("/metrics", HangGuard);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        using var ok = await http.PostAsync(new Uri("/v2/models/iris/infer", UriKind.Relative), new StringContent(IrisBody));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);

        var deadline = DateTime.UtcNow + HangGuard;
        while (!(collector.Metrics.Contains((TelemetryNames.Inference, "inference.requests")) && collector.Spans.Contains((TelemetryNames.Inference, "infer"))))
        {
            Assert.True(DateTime.UtcNow < deadline, $"metrics {string.Join(", ", collector.Metrics)}; spans {string.Join(", ", collector.Spans)}\n{serve.Output}");
            await Task.Delay(100);
        }

        Assert.Contains((TelemetryNames.Inference, "inference.request.duration"), collector.Metrics);
        Assert.Contains((TelemetryNames.DotNetRuntime, "dotnet.process.memory.working_set"), collector.Metrics);
        Assert.All(collector.ContentTypes, type => Assert.Equal("application/x-protobuf", type));
    }

    [Fact]
    public void HasOtlpEndpoint_SharedOrSignalVariable()
    {
        static Func<string, string?> Config(params (string Name, string Value)[] values) =>
            name => values.FirstOrDefault(v => v.Name == name).Value;

        Assert.False(Infer.Cli.ServeTelemetry.HasOtlpEndpoint(Config(), "METRICS"));
        Assert.False(Infer.Cli.ServeTelemetry.HasOtlpEndpoint(Config(("OTEL_EXPORTER_OTLP_ENDPOINT", " ")), "METRICS"));
        Assert.True(Infer.Cli.ServeTelemetry.HasOtlpEndpoint(Config(("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")), "TRACES"));
        Assert.True(Infer.Cli.ServeTelemetry.HasOtlpEndpoint(Config(("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://127.0.0.1:4318/v1/metrics")), "METRICS"));
        Assert.False(Infer.Cli.ServeTelemetry.HasOtlpEndpoint(Config(("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://127.0.0.1:4318/v1/metrics")), "TRACES"));
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The sample lines of Prometheus's text exposition format: <c>name{label="value",...} number [timestamp]</c>.</summary>
    private static List<(string Name, Dictionary<string, string> Labels, double Value)> Parse(string text)
    {
        var samples = new List<(string, Dictionary<string, string>, double)>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var match = SampleLine().Match(line);
            Assert.True(match.Success, $"not a sample line: {line}");
            var labels = LabelPair().Matches(match.Groups["labels"].Value).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
            samples.Add((match.Groups["name"].Value, labels, double.Parse(match.Groups["value"].Value, NumberStyles.Float, CultureInfo.InvariantCulture)));
        }

        return samples;
    }

    private static double Value(List<(string Name, Dictionary<string, string> Labels, double Value)> samples, string name, params (string Label, string Value)[] labels) =>
        Assert.Single(samples, s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Label, out var v) && v == l.Value)).Value;

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})? (?<value>\S+)( \d+)?$""")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)=""((?:[^""\\]|\\.)*)""")]
    private static partial Regex LabelPair();
}

using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Serverless.Infer.Cli;
using Serverless.Inference.Repository;
using Serverless.Inference.Tests.Support;

namespace Serverless.Inference.Tests.Cli;

/// <summary>
/// The README's walkthrough on the real MiniLM model with the real int8-dynamic rewrite, as a user runs it:
/// <c>infer optimize minilm --method int8-dynamic --samples models/minilm/samples.jsonl --publish fast</c>, then
/// <c>infer serve</c> answering the variant by its version and its alias. The variant is made once for the class.
/// </summary>
public sealed class OptimizedMiniLmTests(OptimizedMiniLmTests.Variant variant) : IClassFixture<OptimizedMiniLmTests.Variant>
{
    /// <summary>A guard against a test hanging forever; never a timing assertion.</summary>
    private static readonly TimeSpan HangGuard = TimeSpan.FromMinutes(5);

    private static string Samples => Path.Combine(TempModelRepository.SampleModels, "minilm", "samples.jsonl");

    [Fact]
    public void Optimize_Published_Version2WithItsVocabularyReportRecordAndAlias()
    {
        Assert.True(variant.Exit == OptimizeCommand.Published, variant.Output);
        Assert.Contains("published minilm version 2 (alias fast)", Words(variant.Output), StringComparison.Ordinal);
        var version = Path.Combine(variant.Repository.Root, "minilm", "2");
        Assert.Equal(["model.onnx", "optimization-report.json", "vocab.txt"], Directory.GetFiles(version).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(File.ReadAllBytes(Path.Combine(variant.Repository.Root, "minilm", "1", "vocab.txt")), File.ReadAllBytes(Path.Combine(version, "vocab.txt")));
        Assert.True(new FileInfo(Path.Combine(version, "model.onnx")).Length < new FileInfo(Path.Combine(variant.Repository.Root, "minilm", "1", "model.onnx")).Length);

        var manifest = ModelManifest.Parse(File.ReadAllBytes(Path.Combine(variant.Repository.Root, "minilm", "model.json")), "minilm/model.json");
        Assert.Equal("2", manifest.Aliases["fast"]);
        Assert.Equal(("1", "int8-dynamic"), (manifest.Variants["2"].SourceVersion, manifest.Variants["2"].Method));
        Assert.NotNull(manifest.Pipeline);

        using var report = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(version, "optimization-report.json")));
        var embedding = report.RootElement.GetProperty("outputs")[0];
        Assert.Equal("embedding", embedding.GetProperty("name").GetString());
        Assert.Equal(100, embedding.GetProperty("rows").GetInt32());
        Assert.InRange(embedding.GetProperty("mean_cosine").GetDouble(), 0.95, 1.0);
        Assert.Equal(["1", "8"], report.RootElement.GetProperty("variant").GetProperty("latency_ms").EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task Serve_Variant_AnswersByVersionAndAliasCloseToTheSource()
    {
        Assert.True(variant.Exit == OptimizeCommand.Published, variant.Output);
        var port = FreePort();
        using var serve = InferProcess.Start(variant.Repository.Root, InferProcess.Infer, "serve", "--port", port, "--repository", variant.Repository.Root);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        await WaitReadyAsync(http, serve);

        var source = await EmbedAsync(http, "/v2/models/minilm/versions/1/infer");
        var byVersion = await EmbedAsync(http, "/v2/models/minilm/versions/2/infer");
        var byAlias = await EmbedAsync(http, "/v2/models/minilm/versions/fast/infer");

        Assert.Equal(byVersion.Vector, byAlias.Vector);
        Assert.Equal(("1", "2", "2"), (source.Version, byVersion.Version, byAlias.Version));
        Assert.InRange(source.Vector.Zip(byVersion.Vector, (a, b) => (double)a * b).Sum(), 0.95, 1.0001);
    }

    [Fact]
    public async Task Optimize_ThresholdMissed_ExitThreeNothingPublished()
    {
        using var repository = new TempModelRepository().CopySample("minilm");
        var before = File.ReadAllBytes(Path.Combine(repository.Root, "minilm", "model.json"));

        using var optimize = InferProcess.Start(
            repository.Root, InferProcess.Infer, "optimize", "minilm", "--method", "int8-dynamic", "--samples", Samples, "--min-cosine", "1", "--publish", "fast", "--repository", repository.Root);
        var exit = await optimize.WaitForExitAsync(HangGuard);

        Assert.True(exit == OptimizeCommand.ThresholdMissed, optimize.Output);
        Assert.Contains("threshold missed: embedding: mean cosine", Words(optimize.Output), StringComparison.Ordinal);
        Assert.Equal(["1"], Directory.GetDirectories(Path.Combine(repository.Root, "minilm")).Select(Path.GetFileName));
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(repository.Root, "minilm", "model.json")));
        Assert.Single(Directory.GetFiles(Path.Combine(repository.Root, "minilm"), "optimization-report.int8-dynamic.rejected.*.json"));
    }

    private static async Task WaitReadyAsync(HttpClient http, InferProcess serve)
    {
        using var guard = new CancellationTokenSource(HangGuard);
        while (true)
        {
            try
            {
                using var ready = await http.GetAsync(new Uri("/v2/health/ready", UriKind.Relative), guard.Token);
                if (ready.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            Assert.False(guard.IsCancellationRequested, serve.Output);
            await Task.Delay(200, guard.Token);
        }
    }

    private static async Task<(string Version, float[] Vector)> EmbedAsync(HttpClient http, string path)
    {
        const string body = """{"inputs":[{"name":"text","datatype":"BYTES","shape":[1],"data":["Quantized models load faster in a function."]}]}""";
        using var response = await http.PostAsync(new Uri(path, UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        using var json = JsonDocument.Parse(text);
        var output = json.RootElement.GetProperty("outputs")[0];
        return (json.RootElement.GetProperty("model_version").GetString()!, [.. output.GetProperty("data").EnumerateArray().Select(v => v.GetSingle())]);
    }

    /// <summary>The console's text with its line wrapping (80 columns) undone.</summary>
    private static string Words(string output) => Regex.Replace(output, @"\s+", " ");

    private static string FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>A copy of the sample minilm with its int8-dynamic variant made by the command, as a user would.</summary>
    public sealed class Variant : IAsyncLifetime
    {
        public TempModelRepository Repository { get; } = new TempModelRepository().CopySample("minilm");

        public int Exit { get; private set; } = -1;

        public string Output { get; private set; } = "";

        public async Task InitializeAsync()
        {
            using var optimize = InferProcess.Start(
                Repository.Root, InferProcess.Infer, "optimize", "minilm", "--method", "int8-dynamic", "--samples", Samples, "--publish", "fast", "--repository", Repository.Root);
            Exit = await optimize.WaitForExitAsync(HangGuard);
            Output = optimize.Output;
        }

        public Task DisposeAsync()
        {
            Repository.Dispose();
            return Task.CompletedTask;
        }
    }
}

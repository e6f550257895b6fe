using Serverless.Inference.Tests.Pipelines.ImageSupport;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Pbm;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Tga;
using SixLabors.ImageSharp.Formats.Tiff;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.PixelFormats;

namespace Serverless.Functions.Aws.Tests.Runtime;

/// <summary>
/// The Native AOT bootstrap (published by the tests, see <see cref="AotBootstrap"/>) against a Runtime API test server,
/// with the sample models' pipelines: texts to embeddings (minilm) and images to labels (ppocr-cls), compared with what
/// the same function's services answer in this (JIT) process for the same events. Trimming that dropped a code path
/// the pipelines take (a tokenizer step, an image decoder, a JSON shape) fails here.
/// </summary>
public sealed class AotPipelineTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    private RuntimeApiServer _api = null!;
    private BootstrapProcess _bootstrap = null!;

    public async Task InitializeAsync()
    {
        var executable = await AotBootstrap.GetAsync();
        _api = await RuntimeApiServer.StartAsync();
        _bootstrap = BootstrapProcess.Start(_api.Endpoint, new Dictionary<string, string> { ["INFERENCE_MODEL_DIR"] = TestModels.Repository }, executable);
    }

    public async Task DisposeAsync()
    {
        await _bootstrap.DisposeAsync();
        await _api.DisposeAsync();
    }

    [Fact]
    public async Task Minilm_Texts_EmbeddingsEqualTheJitCoresWithin1e5()
    {
        string[] texts = ["A man is eating food.", "Serverless functions start cold, then stay warm.", "Ünïcödé àccents are stripped, CASE is folded"];
        var body = JsonSerializer.Serialize(new { inputs = new[] { new { name = "text", datatype = "BYTES", shape = new[] { texts.Length }, data = texts } } });
        var eventJson = HttpApiEvents.Create("POST", "/v2/models/minilm/infer", body);

        var aot = await InferAsync(eventJson);
        var jit = await InferInProcessAsync(eventJson);

        var aotEmbedding = Output(aot, "embedding");
        var jitEmbedding = Output(jit, "embedding");
        Assert.Equal([texts.Length, 384], aotEmbedding.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
        var aotValues = aotEmbedding.GetProperty("data").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        var jitValues = jitEmbedding.GetProperty("data").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        Assert.Equal(jitValues.Length, aotValues.Length);
        var largest = aotValues.Zip(jitValues, (a, j) => Math.Abs(a - j)).Max();
        Assert.True(largest <= 1e-5, $"the AOT embedding differs from the JIT core's by up to {largest}");
        for (var row = 0; row < texts.Length; row++)
        {
            // l2_normalize ran: unit vectors, not zeros (a pipeline step lost to trimming would not get this far).
            var norm = Math.Sqrt(aotValues.Skip(row * 384).Take(384).Sum(v => v * v));
            Assert.Equal(1.0, norm, 4);
        }
    }

    [Fact]
    public async Task PpOcrCls_TextLinesAsPngAndJpeg_LabelsEqualTheJitCores()
    {
        // Upright and turned lines as PNG, and as JPEG (another decoder): the model is sure of these (see the core's tests).
        string[] images =
        [
            Convert.ToBase64String(TestImages.TextLinePng("Hello world", upsideDown: false)),
            Convert.ToBase64String(TestImages.TextLinePng("Hello world", upsideDown: true)),
            Convert.ToBase64String(Jpeg(TestImages.TextLinePng("Hello", upsideDown: false))),
            Convert.ToBase64String(Jpeg(TestImages.TextLinePng("Hello", upsideDown: true))),
        ];
        var body = JsonSerializer.Serialize(new { inputs = new[] { new { name = "image", datatype = "BYTES", shape = new[] { images.Length }, data = images } } });
        var eventJson = HttpApiEvents.Create("POST", "/v2/models/ppocr-cls/infer", body);

        var aot = await InferAsync(eventJson);
        var jit = await InferInProcessAsync(eventJson);

        var labels = Output(aot, "label").GetProperty("data").EnumerateArray().Select(l => l.GetString()!).ToArray();
        Assert.Equal(["0", "180", "0", "180"], labels);
        Assert.Equal(Output(jit, "label").GetProperty("data").EnumerateArray().Select(l => l.GetString()!), labels);
        var aotScores = Output(aot, "scores").GetProperty("data").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        var jitScores = Output(jit, "scores").GetProperty("data").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        Assert.Equal(8, aotScores.Length);
        Assert.All(aotScores.Zip(jitScores), pair => Assert.Equal(pair.Second, pair.First, 5));
    }

    [Fact]
    public async Task PpOcrCls_EveryFormatTheImageStepReads_ScoresEqualTheJitCores()
    {
        // One file per decoder the step registers: trimming must have kept each (their format detection, header
        // parsing and pixel paths), and none may take a reflection path the AOT binary lacks.
        IImageEncoder[] encoders =
        [
            new PngEncoder(), new JpegEncoder(), new GifEncoder(), new BmpEncoder(), new TiffEncoder(), new WebpEncoder(), new TgaEncoder(), new PbmEncoder(),
        ];
        var images = encoders.Select(encoder => Convert.ToBase64String(TestImages.NoiseFile(encoder))).ToArray();
        var body = JsonSerializer.Serialize(new { inputs = new[] { new { name = "image", datatype = "BYTES", shape = new[] { images.Length }, data = images } } });
        var eventJson = HttpApiEvents.Create("POST", "/v2/models/ppocr-cls/infer", body);

        var aot = await InferAsync(eventJson);
        var jit = await InferInProcessAsync(eventJson);

        var aotScores = Output(aot, "scores").GetProperty("data").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        var jitScores = Output(jit, "scores").GetProperty("data").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        Assert.Equal(2 * encoders.Length, aotScores.Length);
        Assert.All(aotScores.Zip(jitScores), pair => Assert.Equal(pair.Second, pair.First, 5));
        Assert.Equal(
            Output(jit, "label").GetProperty("data").EnumerateArray().Select(l => l.GetString()!),
            Output(aot, "label").GetProperty("data").EnumerateArray().Select(l => l.GetString()!));
    }

    [Fact]
    public async Task PpOcrCls_ElementThatIsNoImage_Is400NamingTheElement()
    {
        var body = JsonSerializer.Serialize(new { inputs = new[] { new { name = "image", datatype = "BYTES", shape = new[] { 2 }, data = new[] { Convert.ToBase64String(TestImages.TextLinePng("Hello", upsideDown: false)), "not an image" } } } });

        var response = await InvokeAsync(HttpApiEvents.Create("POST", "/v2/models/ppocr-cls/infer", body));

        Assert.Equal(400, response.GetProperty("statusCode").GetInt32());
        using var error = JsonDocument.Parse(response.GetProperty("body").GetString()!);
        Assert.StartsWith("element 1 is not an image ImageSharp can read", error.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.False(_bootstrap.HasExited);
    }

    [Fact]
    public async Task Iris_Row_IsSetosa()
    {
        var answer = await InferAsync(HttpApiEvents.Infer(TestModels.IrisInferBody));

        Assert.Equal("setosa", Output(answer, "PredictedLabel.output").GetProperty("data")[0].GetString());
    }

    private static JsonElement Output(JsonElement body, string name) =>
        body.GetProperty("outputs").EnumerateArray().Single(o => o.GetProperty("name").GetString() == name);

    private static byte[] Jpeg(byte[] png)
    {
        using var image = Image.Load<Rgb24>(png);
        using var file = new MemoryStream();
        image.Save(file, new JpegEncoder { Quality = 95 });
        return file.ToArray();
    }

    private static async Task<JsonElement> InferInProcessAsync(string eventJson)
    {
        using var local = new LocalFunction();
        var response = await local.InvokeAsync(eventJson);
        Assert.Equal(200, response.GetProperty("statusCode").GetInt32());
        return JsonDocument.Parse(response.GetProperty("body").GetString()!).RootElement;
    }

    private async Task<JsonElement> InferAsync(string eventJson)
    {
        var response = await InvokeAsync(eventJson);
        Assert.True(response.GetProperty("statusCode").GetInt32() == 200, response.GetProperty("body").GetString() + _bootstrap.Output);
        return JsonDocument.Parse(response.GetProperty("body").GetString()!).RootElement;
    }

    private async Task<JsonElement> InvokeAsync(string eventJson)
    {
        var answer = await _api.InvokeAsync(eventJson).WaitAsync(Patience);
        Assert.True(answer.Kind == "response", Encoding.UTF8.GetString(answer.Body) + _bootstrap.Output);
        return answer.Json;
    }
}

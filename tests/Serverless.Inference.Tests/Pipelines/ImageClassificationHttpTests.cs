using System.Text.Json;
using Serverless.Inference.Tests.Pipelines.ImageSupport;
using Serverless.Inference.Tests.Support;

namespace Serverless.Inference.Tests.Pipelines;

/// <summary>Image classification with pre- and post-processing, end to end through the real HTTP host.</summary>
public sealed class ImageClassificationHttpTests(ImageModels models) : IClassFixture<ImageModels>
{
    // softmax of the channel means (1, 0, 0): e / (e + 2) and 1 / (e + 2).
    private const double Winner = 0.5761169;
    private const double Loser = 0.2119416;

    private readonly OipClient _client = models.Client;

    [Fact]
    public async Task Infer_BinaryPngs_GiveTheLabelsWorkedOutByHand()
    {
        byte[][] images = [TestImages.Solid(4, 4, 255, 0, 0), TestImages.Solid(8, 2, 0, 255, 0), TestImages.Solid(3, 3, 0, 0, 255)];
        var data = OipClient.LengthPrefixed(images);
        var header = $$$"""{"inputs":[{"name":"image","datatype":"BYTES","shape":[3],"parameters":{"binary_data_size":{{{data.Length}}}}}]}""";

        var reply = await _client.InferBinaryAsync(ImageModels.Colours, header, data);

        reply.AssertOk();
        Assert.Equal(["label", "top_labels", "top_scores"], reply.OutputNames);
        Assert.Equal([3L], reply.Shape("label"));
        Assert.Equal("BYTES", reply.Output("label").GetProperty("datatype").GetString());
        Assert.Equal(["red", "green", "blue"], reply.Data("label").Select(l => l.GetString()));
        Assert.Equal([3L, 2], reply.Shape("top_labels"));
        Assert.Equal(["red", "green", "green", "red", "blue", "red"], reply.Data("top_labels").Select(l => l.GetString()));
        Assert.Equal("FP32", reply.Output("top_scores").GetProperty("datatype").GetString());
        var scores = reply.Data("top_scores").Select(s => s.GetDouble()).ToArray();
        Assert.Equal(6, scores.Length);
        Assert.All(scores.Where((_, i) => i % 2 == 0), s => Assert.Equal(Winner, s, 5));
        Assert.All(scores.Where((_, i) => i % 2 == 1), s => Assert.Equal(Loser, s, 5));
    }

    [Fact]
    public async Task Infer_JsonWithBase64Images_IsClassifiedLikeRawBytes()
    {
        var red = Convert.ToBase64String(TestImages.Solid(4, 4, 255, 0, 0));
        var blue = "data:image/png;base64," + Convert.ToBase64String(TestImages.Solid(4, 4, 0, 0, 255));

        var reply = await _client.InferAsync(ImageModels.Colours, $$"""{"inputs":[{"name":"image","datatype":"BYTES","shape":[2],"data":["{{red}}","{{blue}}"]}],"outputs":[{"name":"label"}]}""");

        reply.AssertOk();
        Assert.Equal(["label"], reply.OutputNames);
        Assert.Equal(["red", "blue"], reply.Data("label").Select(l => l.GetString()));
    }

    [Fact]
    public async Task Infer_NotAnImage_Is400NamingTheElement()
    {
        var good = Convert.ToBase64String(TestImages.Solid(4, 4, 255, 0, 0));

        var reply = await _client.InferAsync(ImageModels.Colours, $$"""{"inputs":[{"name":"image","datatype":"BYTES","shape":[2],"data":["{{good}}","just some text"]}]}""");

        reply.AssertError(400, "element 1 is not an image ImageSharp can read:");
    }

    [Fact]
    public async Task Infer_HugePngHeader_Is400BeforeDecoding()
    {
        var data = OipClient.LengthPrefixed(TestImages.PngHeaderOnly(20_000, 20_000));
        var header = $$$"""{"inputs":[{"name":"image","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":{{{data.Length}}}}}]}""";

        var reply = await _client.InferBinaryAsync(ImageModels.Colours, header, data);

        reply.AssertError(400, "element 0 is a 20000 x 20000 image: more than the 4194304 pixels this model accepts");
    }

    [Fact]
    public async Task Infer_ImagesOverTheRequestPixelBudget_Is413NamingTheTotalAndTheBudget()
    {
        // Five whole PNGs of 2048 x 2048, each at the 4x4 model's per-image limit (the 2048 x 2048 floor), 84 KB in
        // all: 21 M pixels to decode, over the 4 x 4,194,304 a request may.
        var image = TestImages.Solid(2048, 2048, 255, 0, 0);
        var data = OipClient.LengthPrefixed([.. Enumerable.Repeat(image, 5)]);
        var header = $$$"""{"inputs":[{"name":"image","datatype":"BYTES","shape":[5],"parameters":{"binary_data_size":{{{data.Length}}}}}]}""";

        var reply = await _client.InferBinaryAsync(ImageModels.Colours, header, data);

        reply.AssertError(413, "the 5 image(s) of this request declare 20971520 pixels in all: more than the 16777216 pixels this model decodes for one request");
    }

    [Fact]
    public async Task Infer_TruncatedJpeg_Is400NamingTheElement()
    {
        var jpeg = TestImages.SolidJpeg(16, 16, 200, 100, 50);
        var data = OipClient.LengthPrefixed(TestImages.Solid(4, 4, 255, 0, 0), jpeg[..^2]);
        var header = $$$"""{"inputs":[{"name":"image","datatype":"BYTES","shape":[2],"parameters":{"binary_data_size":{{{data.Length}}}}}]}""";

        var reply = await _client.InferBinaryAsync(ImageModels.Colours, header, data);

        reply.AssertError(400, $"element 1 is truncated: the JPEG ends at byte {jpeg.Length - 2}, before its EOI marker");
    }

    [Fact]
    public async Task Metadata_ShowsTheImageInputTheLabelOutputsAndTheRawTensors()
    {
        var reply = await _client.GetAsync($"/v2/models/{ImageModels.Colours}");

        reply.AssertOk();
        Assert.Equal(["image BYTES [-1]"], Tensors(reply.Json.GetProperty("inputs")));
        Assert.Equal(["label BYTES [-1]", "top_labels BYTES [-1,2]", "top_scores FP32 [-1,2]"], Tensors(reply.Json.GetProperty("outputs")));
        Assert.Equal(["x FP32 [-1,3,4,4]"], Tensors(reply.Json.GetProperty("raw_inputs")));
        Assert.Equal(["scores FP32 [-1,3]"], Tensors(reply.Json.GetProperty("raw_outputs")));
    }

    [Fact]
    public async Task Ready_LabelsFileShorterThanTheModelOutput_Is503WithTheReason()
    {
        var ready = await _client.GetAsync($"/v2/models/{ImageModels.ShortLabels}/ready");
        var infer = await _client.InferAsync(ImageModels.ShortLabels, """{"inputs":[{"name":"image","datatype":"BYTES","shape":[1],"data":["x"]}]}""");

        Assert.Equal(503, ready.Status);
        Assert.False(ready.Json.GetProperty("ready").GetBoolean());
        Assert.Contains("argmax_label step on 'scores': the labels file labels.txt has 2 label(s), but the model's output has 3 classes", ready.Error, StringComparison.Ordinal);
        infer.AssertError(503, "the labels file labels.txt has 2 label(s)");
    }

    [Fact]
    public async Task Infer_LabelsFileShorterThanScoresTheModelDoesNotDeclare_Is503PerRequest()
    {
        var ready = await _client.GetAsync($"/v2/models/{ImageModels.ShortLabelsAfterSoftmax}/ready");
        var red = Convert.ToBase64String(TestImages.Solid(4, 4, 255, 0, 0));

        var reply = await _client.InferAsync(ImageModels.ShortLabelsAfterSoftmax, $$"""{"inputs":[{"name":"image","datatype":"BYTES","shape":[1],"data":["{{red}}"]}]}""");

        ready.AssertOk();
        reply.AssertError(503, "top_k step on 'probabilities': the labels file labels.txt has 2 label(s), but the model's output has 3 classes");
    }

    [Fact]
    public async Task Metadata_PpOcrCls_TakesImageBytesAndGivesDirectionLabels()
    {
        var reply = await _client.GetAsync($"/v2/models/{ImageModels.PpOcrCls}");

        reply.AssertOk();
        Assert.Equal(["image BYTES [-1]"], Tensors(reply.Json.GetProperty("inputs")));
        Assert.Equal(["label BYTES [-1]", "labels BYTES [-1,2]", "scores FP32 [-1,2]"], Tensors(reply.Json.GetProperty("outputs")));
        Assert.Equal(["x FP32 [-1,3,48,192]"], Tensors(reply.Json.GetProperty("raw_inputs")));
        Assert.Equal("softmax_0.tmp_0 FP32 [-1,2]", Assert.Single(Tensors(reply.Json.GetProperty("raw_outputs"))));
    }

    [Fact]
    public async Task Infer_PpOcrClsOnTextLinesUprightAndTurned_TellsTheDirections()
    {
        // A long line (214 px wide at 48 high: squeezed to 192) and a short one (106 px: padded on the right), each
        // upright and turned by 180 degrees. On these synthetic lines the model is sure (top score above 0.96).
        var data = OipClient.LengthPrefixed(
            TestImages.TextLinePng("Hello world", upsideDown: false),
            TestImages.TextLinePng("Hello world", upsideDown: true),
            TestImages.TextLinePng("Hello", upsideDown: false),
            TestImages.TextLinePng("Hello", upsideDown: true));
        var header = $$$"""{"inputs":[{"name":"image","datatype":"BYTES","shape":[4],"parameters":{"binary_data_size":{{{data.Length}}}}}]}""";

        var reply = await _client.InferBinaryAsync(ImageModels.PpOcrCls, header, data);

        reply.AssertOk();
        var label = reply.Data("label").Select(l => l.GetString()!).ToArray();
        var labels = reply.Data("labels").Select(l => l.GetString()!).ToArray();
        var scores = reply.Data("scores").Select(s => s.GetDouble()).ToArray();
        Assert.Equal([4L, 2], reply.Shape("labels"));
        Assert.Equal([4L, 2], reply.Shape("scores"));
        for (var row = 0; row < 4; row++)
        {
            Assert.Equal(["0", "180"], labels.Skip(row * 2).Take(2).Order(StringComparer.Ordinal));
            Assert.Equal(1.0, scores[row * 2] + scores[(row * 2) + 1], 5);
            Assert.InRange(scores[row * 2], 0.9, 1.0);
            Assert.Equal(labels[row * 2], label[row]);
        }

        Assert.Equal(["0", "180", "0", "180"], label);
    }

    [Fact]
    public async Task Infer_PpOcrClsImageOverItsMaxPixels_Is400()
    {
        // The sample sets max_pixels to 1 M (a text line of 4096 x 256) and max_pixels_per_request to 16 M.
        var data = OipClient.LengthPrefixed(TestImages.PngHeaderOnly(4097, 256));
        var header = $$$"""{"inputs":[{"name":"image","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":{{{data.Length}}}}}]}""";

        var reply = await _client.InferBinaryAsync(ImageModels.PpOcrCls, header, data);

        reply.AssertError(400, "element 0 is a 4097 x 256 image: more than the 1048576 pixels this model accepts");
    }

    private static string[] Tensors(JsonElement tensors) =>
        [.. tensors.EnumerateArray().Select(t => $"{t.GetProperty("name").GetString()} {t.GetProperty("datatype").GetString()} [{string.Join(',', t.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()))}]")];
}

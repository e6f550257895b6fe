using System.Text;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Serverless.Inference.Optimization;
using Serverless.Inference.Optimization.Onnx;
using Serverless.Inference.Runtime;
using Serverless.Inference.Tests.Support;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;
using Xunit.Abstractions;

namespace Serverless.Inference.Tests.Optimization;

/// <summary>
/// The fp16 rewrite of the real sample models, loaded as the hosts load them and compared with the shipped FP32
/// model on the same inputs: minilm embeddings, resnet18 features, ppocr-cls labels. The bounds sit below what was
/// measured (see each test) with margin, and far above what a broken conversion gives.
/// </summary>
public sealed class Float16SampleModelTests(ITestOutputHelper log)
{
    private static readonly string[] Words =
    [
        "the", "a", "model", "serverless", "function", "cold", "start", "river", "quick", "brown", "fox", "meeting",
        "moved", "thursday", "password", "email", "account", "embedding", "vector", "cosine", "similar", "café",
        "croissant", "town", "speaker", "travelling", "weather", "rain", "tomorrow", "cheap", "flight", "london",
        "reset", "because", "never", "always", "quietly", "runs", "reads", "writes", "on", "under", "with", "for",
    ];

    [Fact]
    public void MiniLm_Fp16Embeddings_StayWithinCosineOfFp32()
    {
        using var fp32 = SampleModelVariant.Load("minilm");
        using var fp16 = SampleModelVariant.Load("minilm", OptimizationMethod.Fp16);
        var sentences = Sentences(30, seed: 17);

        var cosines = new List<double>();
        foreach (var batch in sentences.Chunk(10))
        {
            var expected = Embed(fp32, batch);
            var actual = Embed(fp16, batch);
            cosines.AddRange(expected.Zip(actual, Cosine));
        }

        log.WriteLine($"minilm fp16 vs fp32 on {cosines.Count} sentences: min cosine {cosines.Min():F6}, mean {cosines.Average():F6}");
        Assert.True(cosines.Min() >= 0.999, $"lowest cosine {cosines.Min():F6}, mean {cosines.Average():F6}");
        Assert.Equal("fp16", fp16.Rewrite!.Settings["weights"]);
        Assert.Contains("MatMul", fp16.Rewrite.Settings["kept_fp32"].Split(','));
        Assert.True(fp16.FileBytes < 0.55 * new FileInfo(Path.Combine(TempModelRepository.SampleModels, "minilm", "1", "model.onnx")).Length);
    }

    [Fact]
    public void ResNet18_Fp16Features_StayWithinCosineOfFp32()
    {
        using var fp32 = SampleModelVariant.Load("resnet18");
        using var fp16 = SampleModelVariant.Load("resnet18", OptimizationMethod.Fp16);
        var input = fp32.Model.Signature.Inputs.Single();
        var output = fp32.Model.Signature.Outputs[0].Name;
        var pixels = (int)input.Shape.Skip(1).Aggregate(1L, (product, dim) => product * dim);

        var cosines = new List<double>();
        for (var image = 0; image < 4; image++)
        {
            var values = SmoothImage(pixels, seed: image);
            using var tensor = InputTensor.FromArray<float>(input.Name, TensorDataType.Fp32, [1, .. input.Shape.Skip(1)], values);
            cosines.Add(Cosine(fp32.RunFloats(tensor, output), fp16.RunFloats(tensor, output)));
        }

        log.WriteLine($"resnet18 fp16 vs fp32 on {cosines.Count} images: min cosine {cosines.Min():F6}");
        Assert.True(cosines.Min() >= 0.999, $"lowest cosine {cosines.Min():F6}");
        Assert.Equal(Float16Graphs.FloatType, fp16.Rewrite!.Model.Graph.Input.Single().Type.TensorType.ElemType);
    }

    [Fact]
    public void PpOcrCls_Fp16Labels_AgreeWithFp32()
    {
        using var fp32 = SampleModelVariant.Load("ppocr-cls");
        using var fp16 = SampleModelVariant.Load("ppocr-cls", OptimizationMethod.Fp16);
        var images = Enumerable.Range(0, 32).Select(TextLine).ToArray();

        using var input = InputTensor.CreateBytes("image", [images.Length], images);
        var expected = Labels(fp32, input);
        var actual = Labels(fp16, input);
        var expectedScores = fp32.RunFloats(input, "scores");
        var actualScores = fp16.RunFloats(input, "scores");

        var agreement = expected.Zip(actual, (e, a) => e == a ? 1.0 : 0.0).Average();
        var worst = expectedScores.Zip(actualScores, (e, a) => Math.Abs(e - a)).Max();
        log.WriteLine($"ppocr-cls fp16 vs fp32 on {images.Length} images: agreement {agreement:P1}, scores up to {worst:E2} apart; fp32 labels {string.Join(',', expected)}");
        Assert.True(agreement >= 0.95, $"top-1 agreement {agreement:P1}");
        Assert.True(worst <= 0.01, $"scores differ by up to {worst:E2}");
    }

    [Fact]
    public void PpOcrCls_Fp16WeightCasts_AreFoldedWhenTheSessionIsCreated()
    {
        // The variant stores weights as FP16 and casts them back for FP32 operators; ONNX Runtime's constant folding
        // is what turns those casts into FP32 weights once, at load, instead of on every run.
        var source = OnnxModelFile.Load(Path.Combine(TempModelRepository.SampleModels, "ppocr-cls", "1", "model.onnx"));
        var rewrite = Float16Graphs.Fp16(source);
        var optimized = Path.Combine(Path.GetTempPath(), $"ppocr-cls-fp16-optimized-{Guid.NewGuid():N}.onnx");
        try
        {
            using (var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, OptimizedModelFilePath = optimized, IntraOpNumThreads = 1 })
            using (new InferenceSession(rewrite.Model.ToByteArray(), options))
            {
            }

            var graph = OnnxModelFile.Load(optimized).Graph;
            var initializers = graph.Initializer.Select(tensor => tensor.Name).ToHashSet(StringComparer.Ordinal);
            var unfolded = graph.Node.Count(node => node.OpType == "Cast" && initializers.Contains(node.Input[0]));
            var casts = rewrite.Model.Graph.Node.Count(node => node.OpType == "Cast");
            log.WriteLine($"ppocr-cls fp16: {casts} casts in the variant, {graph.Node.Count(node => node.OpType == "Cast")} after optimization, {unfolded} of them on initializers");
            Assert.True(casts > 100);
            Assert.Equal(0, unfolded);
        }
        finally
        {
            File.Delete(optimized);
        }
    }

    private static float[][] Embed(SampleModelVariant variant, string[] texts)
    {
        using var input = InputTensor.CreateBytes("text", [texts.Length], [.. texts.Select(Encoding.UTF8.GetBytes)]);
        var values = variant.RunFloats(input, "embedding");
        return [.. Enumerable.Range(0, texts.Length).Select(row => values.AsSpan(row * 384, 384).ToArray())];
    }

    private static string[] Labels(SampleModelVariant variant, InputTensor input)
    {
        using var outputs = variant.Endpoint.Run([input], ["label"], CancellationToken.None);
        var labels = outputs.Tensors.Single();
        return [.. Enumerable.Range(0, labels.ElementCount).Select(i => Encoding.UTF8.GetString(labels.GetBytes(i)))];
    }

    /// <summary>Sentences of 5 to 15 words drawn from a fixed word list.</summary>
    internal static string[] Sentences(int count, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => string.Join(' ', Enumerable.Range(0, random.Next(5, 16)).Select(_ => Words[random.Next(Words.Length)])) + ".")];
    }

    /// <summary>A smooth pattern of sines with a little noise, about the range of normalized pixels.</summary>
    private static float[] SmoothImage(int count, int seed)
    {
        var random = new Random(seed);
        var (a, b, c) = (random.NextDouble() * 0.1, random.NextDouble() * 0.05, random.NextDouble() * 6);
        return [.. Enumerable.Range(0, count).Select(i => (float)((Math.Sin((i * a) + c) * Math.Cos(i * b / 224)) + (0.1 * random.NextDouble())))];
    }

    /// <summary>A PNG text line: dark glyph-like blocks of random widths on a light background, upright or upside down.</summary>
    private static byte[] TextLine(int seed)
    {
        var random = new Random(seed);
        using var image = new Image<Rgb24>(192, 48, new Rgb24(235, 235, 230));
        var x = 4 + random.Next(8);
        while (x < 184)
        {
            var width = 3 + random.Next(10);
            var top = 10 + random.Next(8);
            var bottom = 34 + random.Next(8);
            for (var px = x; px < Math.Min(x + width, 188); px++)
            {
                for (var py = top; py < bottom; py++)
                {
                    image[px, py] = new Rgb24(30, 30, 40);
                }
            }

            x += width + 2 + random.Next(6);
        }

        if (seed % 2 == 1)
        {
            image.Mutate(context => context.Rotate(180));
        }

        using var stream = new MemoryStream();
        image.Save(stream, new PngEncoder());
        return stream.ToArray();
    }

    private static double Cosine(float[] a, float[] b) => a.Zip(b, (x, y) => (double)x * y).Sum() / (Norm(a) * Norm(b));

    private static double Norm(float[] vector) => Math.Sqrt(vector.Sum(x => (double)x * x));
}

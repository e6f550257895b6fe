using System.Diagnostics;
using Serverless.Inference.Benchmarks.Harness;
using Serverless.Inference.Optimization;
using Serverless.Inference.Optimization.Onnx;
using Serverless.Inference.Optimization.Quantization;
using Serverless.Inference.Repository;
using Serverless.Inference.Tests.Optimization.Support;

namespace Serverless.Inference.Benchmarks.Figures;

/// <summary>
/// Figure optimize-minilm: the int8-dynamic variant of the sample minilm, made in process, against the FP32 model it
/// came from: file size, session creation, latency through the pipeline at batch 1 and 8, and how far its embeddings
/// move (cosine to the FP32 embedding of the same sentence). Both sessions run with the manifest's intra-op threads.
/// </summary>
internal static class OptimizeMiniLm
{
    private const string Model = "minilm";
    private const int SessionRepetitions = 5;
    private const int WarmupRuns = 5;
    private const int TimedRuns = 31;
    private const int AccuracySentences = 1000;
    private const int AccuracyBatch = 16;
    private const int Seed = 2026;
    private static readonly int[] Batches = [1, 8];

    public static void Run()
    {
        var sourceFolder = Path.Combine(Loopback.ModelRepository, Model, "1");
        var sourcePath = Path.Combine(sourceFolder, "model.onnx");
        var manifest = ModelManifest.Parse(File.ReadAllBytes(Path.Combine(Loopback.ModelRepository, Model, "model.json")), $"{Model}/model.json");
        Report.Title(
            "optimize-minilm: minilm int8-dynamic vs FP32",
            Report.Invariant($"the variant is made in process (DynamicQuantization: MatMul/Gemm weights int8 per channel, word embeddings int8, activations uint8 at run time);") + Environment.NewLine +
            Report.Invariant($"both models behind the manifest's pipeline (bert_tokenize, mean_pool, l2_normalize), ORT_ENABLE_ALL, {manifest.IntraOpThreads} intra-op threads each;") + Environment.NewLine +
            Report.Invariant($"session + pipeline creation {SessionRepetitions}x each, alternating; latency {TimedRuns} runs per model and batch after {WarmupRuns} warm-up runs, alternating A/B every run;") + Environment.NewLine +
            Report.Invariant($"accuracy: cosine of each variant embedding to the FP32 one on {AccuracySentences} generated sentences (5-60 words, seed {Seed})."));

        var folder = Directory.CreateTempSubdirectory("optimize-minilm-").FullName;
        try
        {
            var variantPath = MakeVariant(sourcePath, sourceFolder, manifest, folder);
            var sourceBytes = new FileInfo(sourcePath).Length;
            var variantBytes = new FileInfo(variantPath).Length;
            Report.Line($"file size: FP32 {sourceBytes / 1e6:F1} MB, int8 {variantBytes / 1e6:F1} MB");
            var sizeRatio = (double)variantBytes / sourceBytes;
            Report.Ratio("int8 / FP32 file size", sizeRatio, "<= 0.35", sizeRatio <= 0.35);

            SessionCreation(sourcePath, sourceFolder, variantPath, folder, manifest);

            using var fp32 = new TextEmbedder(sourcePath, manifest, sourceFolder);
            using var int8 = new TextEmbedder(variantPath, manifest, folder);
            Latency(fp32, int8);
            Accuracy(fp32, int8);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static string MakeVariant(string sourcePath, string sourceFolder, ModelManifest manifest, string folder)
    {
        var stopwatch = Stopwatch.StartNew();
        var source = OnnxModelFile.Load(sourcePath);
        var load = stopwatch.Elapsed;
        stopwatch.Restart();
        var result = new DynamicQuantization().Rewrite(new RewriteRequest(source, sourceFolder, manifest, null, RewriteOptions.Default), CancellationToken.None);
        var rewrite = stopwatch.Elapsed;
        stopwatch.Restart();
        var variantPath = Path.Combine(folder, "model.onnx");
        OnnxModelFile.Save(result.Model, variantPath);
        File.Copy(Path.Combine(sourceFolder, "vocab.txt"), Path.Combine(folder, "vocab.txt"));
        Report.Line($"rewrite: parse {load.TotalMilliseconds:F0} ms, rewrite {rewrite.TotalMilliseconds:F0} ms, save {stopwatch.Elapsed.TotalMilliseconds:F0} ms; {result.RewrittenNodes} nodes rewritten");
        Report.Line($"settings: {string.Join("; ", result.Settings.Select(setting => $"{setting.Key}={setting.Value}"))}");
        return variantPath;
    }

    private static void SessionCreation(string sourcePath, string sourceFolder, string variantPath, string variantFolder, ModelManifest manifest)
    {
        var fp32 = new List<double>();
        var int8 = new List<double>();
        for (var i = 0; i < SessionRepetitions; i++)
        {
            if (i % 2 == 0)
            {
                fp32.Add(TimeCreation(sourcePath, manifest, sourceFolder));
                int8.Add(TimeCreation(variantPath, manifest, variantFolder));
            }
            else
            {
                int8.Add(TimeCreation(variantPath, manifest, variantFolder));
                fp32.Add(TimeCreation(sourcePath, manifest, sourceFolder));
            }
        }

        Console.WriteLine();
        Report.Columns("ms");
        Report.Row("session + pipeline creation, FP32", fp32, "F0");
        Report.Row("session + pipeline creation, int8", int8, "F0");
        Report.Ratio("int8 / FP32 session creation", Stats.Median(int8) / Stats.Median(fp32));
    }

    private static double TimeCreation(string modelPath, ModelManifest manifest, string assetFolder)
    {
        var started = Stopwatch.GetTimestamp();
        using var embedder = new TextEmbedder(modelPath, manifest, assetFolder);
        return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    }

    private static void Latency(TextEmbedder fp32, TextEmbedder int8)
    {
        var sentences = GeneratedSentences.Create(Batches.Max(), Seed + 1);
        foreach (var batch in Batches)
        {
            var texts = sentences.Take(batch).ToArray();
            for (var i = 0; i < WarmupRuns; i++)
            {
                fp32.Embed(texts);
                int8.Embed(texts);
            }

            var fp32Times = new List<double>();
            var int8Times = new List<double>();
            for (var i = 0; i < TimedRuns; i++)
            {
                if (i % 2 == 0)
                {
                    fp32Times.Add(Time(fp32, texts));
                    int8Times.Add(Time(int8, texts));
                }
                else
                {
                    int8Times.Add(Time(int8, texts));
                    fp32Times.Add(Time(fp32, texts));
                }
            }

            Console.WriteLine();
            Report.Line($"batch {batch}: {texts.Sum(text => text.Split(' ').Length)} words in all; load {Report.LoadAverage()}");
            Report.Columns("ms");
            Report.Row($"pipeline run, FP32, batch {batch}", fp32Times);
            Report.Row($"pipeline run, int8, batch {batch}", int8Times);
            var ratio = Stats.Median(int8Times) / Stats.Median(fp32Times);
            Report.Ratio($"int8 / FP32 latency, batch {batch}", ratio, "<= 0.7", ratio <= 0.7);
        }
    }

    private static double Time(TextEmbedder embedder, IReadOnlyList<string> texts)
    {
        var started = Stopwatch.GetTimestamp();
        embedder.Embed(texts);
        return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    }

    private static void Accuracy(TextEmbedder fp32, TextEmbedder int8)
    {
        var sentences = GeneratedSentences.Create(AccuracySentences, Seed);
        var cosines = new List<double>(sentences.Count);
        foreach (var batch in sentences.Chunk(AccuracyBatch))
        {
            cosines.AddRange(fp32.Embed(batch).Zip(int8.Embed(batch), TextEmbedder.Cosine));
        }

        Console.WriteLine();
        Report.Line($"accuracy on {cosines.Count} sentences of {sentences.Min(s => s.Split(' ').Length)}-{sentences.Max(s => s.Split(' ').Length)} words: mean cosine {cosines.Average():F5}, min {cosines.Min():F5}, p1 {Stats.Percentile(cosines, 0.01):F5}");
        Report.Ratio("mean cosine int8 vs FP32", cosines.Average(), ">= 0.99", cosines.Average() >= 0.99);
    }
}

using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Serverless.Inference.Benchmarks.Harness;
using Serverless.Inference.Optimization;
using Serverless.Inference.Optimization.Onnx;
using Serverless.Inference.Optimization.Quantization;
using Serverless.Inference.Repository;
using Serverless.Inference.Tests.Optimization.Support;

namespace Serverless.Inference.Benchmarks.Figures;

/// <summary>
/// Figure optimize-vision: the int8-static (QDQ) variants of the vision samples against their FP32 sources, made
/// by the optimizer from generated calibration images: file size, session creation, latency at batch 1 (and 8 for
/// ppocr-cls), and what they give up, on other generated images: ppocr-cls top-1 agreement, resnet18 feature cosine.
/// </summary>
internal static class OptimizeVision
{
    private const int SessionRounds = 7;
    private const int LatencyRounds = 15;
    private const int PerRound = 10;

    public static Task RunAsync()
    {
        Report.Title(
            "optimize-vision: int8-static (QDQ) variants of ppocr-cls and resnet18 against FP32",
            "calibration and held-out inputs are generated (seeded): text-like glyph strips, half upside down (ppocr-cls, through its own image pipeline);" + Environment.NewLine +
            "scenes of gradients, shapes and noise as the model's 3x224x224 tensor (resnet18). Sessions at ORT_ENABLE_ALL (as the hosts create them), the same" + Environment.NewLine +
            Report.Invariant($"intra-op threads for both (the model.json's); FP32 and int8 alternate: {SessionRounds} session creations each, {LatencyRounds} rounds x {PerRound} runs each per batch size."));
        Measure("ppocr-cls", calibrationRows: 64, heldOut: 200, batches: [1, 8]);
        Measure("resnet18", calibrationRows: 16, heldOut: 24, batches: [1]);
        return Task.CompletedTask;
    }

    private static void Measure(string name, int calibrationRows, int heldOut, int[] batches)
    {
        var root = Path.Combine(Loopback.ModelRepository, name);
        var manifestPath = Path.Combine(root, ModelFilePath.ManifestFileName);
        var manifest = ModelManifest.Parse(File.ReadAllBytes(manifestPath), ModelFilePath.ManifestFileName);
        var folder = Path.Combine(root, "1");
        var sourcePath = Path.Combine(folder, ModelFilePath.ModelFileName);
        var scratch = Directory.CreateTempSubdirectory("optimize-vision-").FullName;
        try
        {
            var ppOcr = manifest.Pipeline is not null;
            var calibration = Path.Combine(scratch, "calibration.jsonl");
            Func<int, string> row = ppOcr ? VisionSamples.TextStripRow : VisionSamples.SceneRow;
            File.WriteAllLines(calibration, Enumerable.Range(0, calibrationRows).Select(row));
            var rewrite = Stopwatch.StartNew();
            var result = new StaticQuantization().Rewrite(
                new RewriteRequest(OnnxModelFile.Load(sourcePath), folder, manifest, calibration, RewriteOptions.Default), CancellationToken.None);
            rewrite.Stop();
            var quantizedPath = Path.Combine(scratch, "model.int8.onnx");
            OnnxModelFile.Save(result.Model, quantizedPath);

            Console.WriteLine();
            Report.Line($"-- {name}: rewrite took {rewrite.Elapsed.TotalSeconds:F1} s ({calibrationRows} calibration rows); {result.RewrittenNodes} nodes quantized, {result.Settings["qdq_pairs"]} activation Q/DQ pairs, BatchNormalization folded: {result.Settings["batch_normalization_folded"]}");
            Report.Line($"ONNX Runtime fused: {result.Settings["fused_by_onnxruntime"]}");
            var fp32Bytes = new FileInfo(sourcePath).Length;
            var int8Bytes = new FileInfo(quantizedPath).Length;
            Report.Line($"file size: FP32 {fp32Bytes / 1048576.0:F2} MiB, int8 {int8Bytes / 1048576.0:F2} MiB");
            Report.Ratio("int8 / FP32 file size", int8Bytes / (double)fp32Bytes);

            var threads = manifest.IntraOpThreads > 0 ? manifest.IntraOpThreads : 1;
            var (fp32Create, int8Create) = SessionCreation(sourcePath, quantizedPath, threads);
            Report.Columns("ms");
            Report.Row("session creation, FP32", fp32Create);
            Report.Row("session creation, int8", int8Create);
            Report.Ratio("int8 / FP32 session creation", Stats.Median(int8Create) / Stats.Median(fp32Create));

            using var fp32 = Session(sourcePath, threads);
            using var int8 = Session(quantizedPath, threads);
            var (input, shape, samples) = ppOcr
                ? PpOcrInputs(folder, manifestPath, heldOut)
                : ("Input247", new long[] { 1, 3, VisionSamples.ResNetSide, VisionSamples.ResNetSide }, Enumerable.Range(5000, heldOut).Select(VisionSamples.Scene).ToArray());
            foreach (var batch in batches)
            {
                var values = samples.Take(batch).SelectMany(sample => sample).ToArray();
                long[] batchShape = [batch, shape[1], shape[2], shape[3]];
                var (fp32Latency, int8Latency) = Latency(fp32, int8, input, values, batchShape);
                Report.Row(Report.Invariant($"latency batch {batch}, FP32"), fp32Latency, "F3");
                Report.Row(Report.Invariant($"latency batch {batch}, int8"), int8Latency, "F3");
                Report.Ratio(Report.Invariant($"int8 / FP32 latency, batch {batch}"), Stats.Median(int8Latency) / Stats.Median(fp32Latency));
            }

            var outputsA = samples.Select(sample => Run(fp32, input, sample, [1, shape[1], shape[2], shape[3]])).ToList();
            var outputsB = samples.Select(sample => Run(int8, input, sample, [1, shape[1], shape[2], shape[3]])).ToList();
            if (ppOcr)
            {
                var labelsA = outputsA.Select(o => o[1] > o[0] ? 1 : 0).ToList();
                var labelsB = outputsB.Select(o => o[1] > o[0] ? 1 : 0).ToList();
                var agree = labelsA.Zip(labelsB).Count(pair => pair.First == pair.Second);
                Report.Line($"top-1 agreement on {heldOut} held-out strips: {agree / (double)heldOut:F3} ({agree}/{heldOut}); FP32 says \"180\" for {labelsA.Sum()} of them");
            }
            else
            {
                var cosines = outputsA.Zip(outputsB, Cosine).ToList();
                Report.Line($"feature cosine on {heldOut} held-out scenes: mean {cosines.Average():F4}, min {cosines.Min():F4}");
            }
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    private static (string Input, long[] Shape, float[][] Samples) PpOcrInputs(string folder, string manifestPath, int count)
    {
        var stacked = VisionSamples.PpOcrTensors(folder, manifestPath, Enumerable.Range(5000, count).Select(VisionSamples.TextStrip), out var rows);
        var perRow = stacked.Length / rows;
        return ("x", [1, 3, 48, 192], [.. Enumerable.Range(0, rows).Select(row => stacked.AsSpan(row * perRow, perRow).ToArray())]);
    }

    private static (List<double> Fp32, List<double> Int8) SessionCreation(string fp32Path, string int8Path, int threads)
    {
        var (fp32, int8) = (new List<double>(), new List<double>());
        for (var round = 0; round < SessionRounds; round++)
        {
            foreach (var (path, samples) in round % 2 == 0 ? [(fp32Path, fp32), (int8Path, int8)] : new[] { (int8Path, int8), (fp32Path, fp32) })
            {
                var clock = Stopwatch.GetTimestamp();
                using (Session(path, threads))
                {
                    samples.Add(Stopwatch.GetElapsedTime(clock).TotalMilliseconds);
                }
            }
        }

        return (fp32, int8);
    }

    private static (List<double> Fp32, List<double> Int8) Latency(InferenceSession fp32Session, InferenceSession int8Session, string input, float[] values, long[] shape)
    {
        // Warm both first: the first runs allocate the arenas.
        Run(fp32Session, input, values, shape);
        Run(int8Session, input, values, shape);
        var (fp32, int8) = (new List<double>(), new List<double>());
        for (var round = 0; round < LatencyRounds; round++)
        {
            foreach (var (session, samples) in round % 2 == 0 ? [(fp32Session, fp32), (int8Session, int8)] : new[] { (int8Session, int8), (fp32Session, fp32) })
            {
                for (var i = 0; i < PerRound; i++)
                {
                    var clock = Stopwatch.GetTimestamp();
                    Run(session, input, values, shape);
                    samples.Add(Stopwatch.GetElapsedTime(clock).TotalMilliseconds);
                }
            }
        }

        return (fp32, int8);
    }

    private static InferenceSession Session(string path, int threads)
    {
        using var options = new Microsoft.ML.OnnxRuntime.SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        return new InferenceSession(path, options);
    }

    private static float[] Run(InferenceSession session, string input, float[] values, long[] shape)
    {
        using var tensor = OrtValue.CreateTensorValueFromMemory(values, shape);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, [input], [tensor], [session.OutputNames[0]]);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

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

using System.Diagnostics;
using System.Text;
using Serverless.Inference.Benchmarks.Harness;
using Serverless.Inference.Optimization;
using Serverless.Inference.Optimization.Onnx;
using Serverless.Inference.Pipelines;
using Serverless.Inference.Repository;
using Serverless.Inference.Runtime;

namespace Serverless.Inference.Benchmarks.Figures;

/// <summary>
/// Figure optimize-fp16: the fp16 variant of minilm, resnet18 and ppocr-cls against the shipped FP32 model, in the
/// same run with the same thread count: file size, session creation, latency of the bare model at batch 1 and 8
/// (resnet18 takes batch 1 only), and accuracy through each model's pipeline. On a CPU without FP16 arithmetic,
/// ONNX Runtime computes almost everything in FP32 and the variant pays for its casts: this figure says so when it does.
/// </summary>
internal static class OptimizeFp16
{
    private const int Threads = 2;
    private const int SessionRepetitions = 5;
    private const int Rounds = 10;
    private const int PerRound = 5;

    public static Task RunAsync()
    {
        Report.Title(
            "optimize-fp16: FP16 variants (weights FP16, FP32 where the CPU has no FP16 kernel) vs the FP32 originals",
            Report.Invariant($"each variant made by the fp16 rewrite, saved to a temp file; both loaded with OnnxModelFactory (ORT_ENABLE_ALL, {Threads} intra-op threads, no optimized-graph cache)") + Environment.NewLine +
            Report.Invariant($"session creation: {SessionRepetitions} each, alternating; latency: the bare model's Run, {Rounds} rounds x {PerRound} calls, A/B order swapped every round; accuracy through the pipeline"));
        Report.Line($"uptime: {Uptime()}");

        Compare("minilm", [1, 8], MiniLmInputs, MiniLmAccuracy);
        Compare("resnet18", [1], ImageInputs, ResNetAccuracy);
        Compare("ppocr-cls", [1, 8], ImageInputs, PpOcrAccuracy);

        Report.Line($"uptime: {Uptime()}");
        return Task.CompletedTask;
    }

    private static void Compare(string name, int[] batches, Func<OnnxModel, int, InputTensor[]> inputs, Func<Loaded, Loaded, string> accuracy)
    {
        var folder = Path.Combine(Loopback.ModelRepository, name, "1");
        var manifest = ModelManifest.Parse(File.ReadAllBytes(Path.Combine(Loopback.ModelRepository, name, "model.json")), name);
        var original = Path.Combine(folder, "model.onnx");
        var variant = Path.Combine(Path.GetTempPath(), $"optimize-fp16-{name}-{Guid.NewGuid():N}.onnx");
        try
        {
            var converting = Stopwatch.StartNew();
            var rewrite = GraphRewrites.For(OptimizationMethod.Fp16).Rewrite(
                new RewriteRequest(OnnxModelFile.Load(original), folder, manifest, null, RewriteOptions.Default), CancellationToken.None);
            OnnxModelFile.Save(rewrite.Model, variant);
            converting.Stop();

            Console.WriteLine();
            Report.Line($"-- {name}: converted in {converting.Elapsed.TotalSeconds:F1} s; kept FP32: {rewrite.Settings["kept_fp32"]}; FP16: {rewrite.Settings["fp16_ops"]}; {rewrite.Settings["casts"]} casts, {rewrite.Settings["clamped"]} clamped");
            var sizes = (new FileInfo(original).Length, new FileInfo(variant).Length);
            Report.Line($"file: FP32 {sizes.Item1 / 1e6:F1} MB, FP16 {sizes.Item2 / 1e6:F1} MB");
            Report.Ratio("file size FP16 / FP32", (double)sizes.Item2 / sizes.Item1);

            var (fp32Sessions, fp16Sessions) = TimeSessions(original, variant, manifest);
            Report.Columns("ms");
            Report.Row("session creation, FP32", fp32Sessions, "F0");
            Report.Row("session creation, FP16", fp16Sessions, "F0");
            Report.Ratio("session creation FP16 / FP32", Stats.Median(fp16Sessions) / Stats.Median(fp32Sessions));

            using var fp32 = Loaded.Create(original, folder, manifest);
            using var fp16 = Loaded.Create(variant, folder, manifest);
            foreach (var batch in batches)
            {
                var tensors = inputs(fp32.Model, batch);
                var (a, b) = TimeRuns(fp32.Model, fp16.Model, tensors);
                foreach (var tensor in tensors)
                {
                    tensor.Dispose();
                }

                Report.Row($"batch {batch}: Run, FP32", a);
                Report.Row($"batch {batch}: Run, FP16", b);
                var ratio = Stats.Median(b) / Stats.Median(a);
                Report.Ratio($"batch {batch} latency FP16 / FP32", ratio);
                if (ratio > 1.05)
                {
                    Report.Line($"the FP16 variant is SLOWER than FP32 here at batch {batch} (median ratio above 1.05)");
                }
            }

            Report.Line($"accuracy: {accuracy(fp32, fp16)}");
        }
        finally
        {
            File.Delete(variant);
        }
    }

    private static (List<double> Fp32, List<double> Fp16) TimeSessions(string original, string variant, ModelManifest manifest)
    {
        var fp32 = new List<double>();
        var fp16 = new List<double>();
        for (var i = 0; i < SessionRepetitions; i++)
        {
            foreach (var (path, samples) in i % 2 == 0 ? [(original, fp32), (variant, fp16)] : new[] { (variant, fp16), (original, fp32) })
            {
                var started = Stopwatch.GetTimestamp();
                OnnxModelFactory.Create(path, manifest, Threads, null).Dispose();
                samples.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        }

        return (fp32, fp16);
    }

    private static (List<double> Fp32, List<double> Fp16) TimeRuns(OnnxModel fp32, OnnxModel fp16, InputTensor[] inputs)
    {
        // One untimed run each first: the first Run allocates the arena.
        fp32.Run(inputs, null, CancellationToken.None).Dispose();
        fp16.Run(inputs, null, CancellationToken.None).Dispose();
        var a = new List<double>();
        var b = new List<double>();
        for (var round = 0; round < Rounds; round++)
        {
            foreach (var (model, samples) in round % 2 == 0 ? [(fp32, a), (fp16, b)] : new[] { (fp16, b), (fp32, a) })
            {
                for (var call = 0; call < PerRound; call++)
                {
                    var started = Stopwatch.GetTimestamp();
                    model.Run(inputs, null, CancellationToken.None).Dispose();
                    samples.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }
            }
        }

        return (a, b);
    }

    /// <summary>input_ids of 16 tokens ([CLS], 14 word pieces, [SEP]), a full attention mask, token types 0.</summary>
    private static InputTensor[] MiniLmInputs(OnnxModel model, int batch)
    {
        const int Length = 16;
        var random = new Random(batch);
        var ids = new long[batch * Length];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = (i % Length) switch
            {
                0 => 101,
                Length - 1 => 102,
                _ => random.Next(2000, 29000),
            };
        }

        long[] shape = [batch, Length];
        return
        [
            InputTensor.FromArray<long>("input_ids", TensorDataType.Int64, shape, ids),
            InputTensor.FromArray<long>("attention_mask", TensorDataType.Int64, shape, Enumerable.Repeat(1L, ids.Length).ToArray()),
            InputTensor.FromArray<long>("token_type_ids", TensorDataType.Int64, shape, new long[ids.Length]),
        ];
    }

    private static InputTensor[] ImageInputs(OnnxModel model, int batch) => [RandomImages(model, batch, seed: batch)];

    /// <summary>The model's one image input, seeded values in [-1, 1] (about the range of normalized pixels).</summary>
    private static InputTensor RandomImages(OnnxModel model, int batch, int seed)
    {
        var input = model.Signature.Inputs.Single();
        long[] shape = [batch, .. input.Shape.Skip(1)];
        var random = new Random(seed);
        var values = new float[shape.Aggregate(1L, (product, dim) => product * dim)];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (float)((random.NextDouble() * 2) - 1);
        }

        return InputTensor.FromArray<float>(input.Name, TensorDataType.Fp32, shape, values);
    }

    private static string MiniLmAccuracy(Loaded fp32, Loaded fp16)
    {
        var cosines = new List<double>();
        foreach (var batch in Sentences(200).Chunk(16))
        {
            using var input = InputTensor.CreateBytes("text", [batch.Length], [.. batch.Select(Encoding.UTF8.GetBytes)]);
            var a = fp32.Floats(input, "embedding");
            var b = fp16.Floats(input, "embedding");
            cosines.AddRange(Enumerable.Range(0, batch.Length).Select(row => Cosine(a.AsSpan(row * 384, 384), b.AsSpan(row * 384, 384))));
        }

        return Report.Invariant($"embedding cosine FP16 vs FP32 on {cosines.Count} generated sentences: mean {cosines.Average():F6}, min {cosines.Min():F6}");
    }

    private static string ResNetAccuracy(Loaded fp32, Loaded fp16)
    {
        var cosines = new List<double>();
        for (var image = 0; image < 16; image++)
        {
            using var input = RandomImages(fp32.Model, 1, seed: 100 + image);
            var output = fp32.Model.Signature.Outputs[0].Name;
            cosines.Add(Cosine(fp32.Floats(input, output), fp16.Floats(input, output)));
        }

        return Report.Invariant($"feature cosine FP16 vs FP32 on {cosines.Count} random images: mean {cosines.Average():F6}, min {cosines.Min():F6}");
    }

    private static string PpOcrAccuracy(Loaded fp32, Loaded fp16)
    {
        var output = fp32.Model.Signature.Outputs[0].Name;
        int agree = 0, total = 0;
        var worst = 0.0;
        for (var round = 0; round < 8; round++)
        {
            using var tensor = RandomImages(fp32.Model, 8, seed: 200 + round);
            var a = fp32.ModelFloats(tensor, output);
            var b = fp16.ModelFloats(tensor, output);
            for (var row = 0; row < 8; row++)
            {
                agree += (a[row * 2] >= a[(row * 2) + 1]) == (b[row * 2] >= b[(row * 2) + 1]) ? 1 : 0;
                total++;
            }

            worst = Math.Max(worst, a.Zip(b, (x, y) => Math.Abs(x - y)).Max());
        }

        return Report.Invariant($"top-1 agreement FP16 vs FP32 on {total} random inputs: {agree}/{total}; probabilities differ by up to {worst:E2}");
    }

    private static string[] Sentences(int count)
    {
        string[] words =
        [
            "the", "a", "model", "serverless", "function", "cold", "start", "river", "quick", "brown", "fox", "meeting",
            "moved", "thursday", "password", "email", "account", "embedding", "vector", "cosine", "similar", "town",
            "speaker", "weather", "rain", "tomorrow", "cheap", "flight", "reset", "because", "never", "quietly",
        ];
        var random = new Random(23);
        return [.. Enumerable.Range(0, count).Select(_ => string.Join(' ', Enumerable.Range(0, random.Next(5, 20)).Select(_ => words[random.Next(words.Length)])))];
    }

    private static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double dot = 0, aa = 0, bb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            aa += (double)a[i] * a[i];
            bb += (double)b[i] * b[i];
        }

        return dot / Math.Sqrt(aa * bb);
    }

    private static string Uptime()
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo("uptime") { RedirectStandardOutput = true, UseShellExecute = false });
            if (process is null)
            {
                return "unavailable";
            }

            var text = process.StandardOutput.ReadToEnd().Trim();
            process.WaitForExit();
            return text;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return Report.LoadAverage() is { } load ? "load average " + load : "unavailable";
        }
    }

    /// <summary>A model loaded as the hosts load it: the session, and its pipeline when the manifest declares one.</summary>
    private sealed class Loaded : IDisposable
    {
        private Loaded(OnnxModel model, IInferenceModel endpoint)
        {
            Model = model;
            Endpoint = endpoint;
        }

        public OnnxModel Model { get; }

        public IInferenceModel Endpoint { get; }

        public static Loaded Create(string path, string folder, ModelManifest manifest)
        {
            var model = OnnxModelFactory.Create(path, manifest, Threads, null);
            var steps = manifest.Pipeline is { } pipeline ? pipeline.Preprocess.Concat(pipeline.Postprocess) : [];
            var assets = steps.SelectMany(step => step.Assets).Distinct(StringComparer.Ordinal)
                .ToDictionary(asset => asset, asset => Path.Combine(folder, asset), StringComparer.Ordinal);
            return new Loaded(model, manifest.Pipeline is { } declared ? PipelineModel.Create(model, declared, assets, path) : model);
        }

        public float[] Floats(InputTensor input, string output)
        {
            using var outputs = Endpoint.Run([input], [output], CancellationToken.None);
            return outputs.Tensors.Single().AsSpan<float>().ToArray();
        }

        public float[] ModelFloats(InputTensor input, string output)
        {
            using var outputs = Model.Run([input], [output], CancellationToken.None);
            return outputs.Tensors.Single().AsSpan<float>().ToArray();
        }

        public void Dispose() => Model.Dispose();
    }
}

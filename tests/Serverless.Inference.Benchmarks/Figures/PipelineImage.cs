using System.Net;
using Microsoft.ML.OnnxRuntime;
using Serverless.Inference.Benchmarks.Harness;
using static Serverless.Inference.Benchmarks.Harness.PipelineShares;
using Serverless.Inference.Pipelines;
using Serverless.Inference.Runtime;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace Serverless.Inference.Benchmarks.Figures;

/// <summary>
/// Figure pipeline-image: where the time of an image classification request goes, on the sample <c>ppocr-cls</c> (PP-OCR text
/// direction, x float [N, 3, 48, 192]): the pipeline's preprocessing (decode, resize, normalise) and postprocessing
/// (top-k and argmax label) against the bare <see cref="InferenceSession.Run(RunOptions, IReadOnlyCollection{string}, IReadOnlyCollection{OrtValue}, IReadOnlyCollection{string})"/>
/// on the host's own session, at batch 1 and 8; with the whole pipeline in process and over HTTP for scale.
/// </summary>
internal static class PipelineImage
{
    private const string Model = "ppocr-cls";
    private const int ImageWidth = 320;
    private const int ImageHeight = 64;
    private static readonly int[] Batches = [1, 8];

    public static async Task RunAsync()
    {
        Report.Title(
            "pipeline-image: ppocr-cls, share of a request spent in pre- and postprocessing",
            Report.Invariant($"input: PNG text lines of {ImageWidth} x {ImageHeight} (dark glyph-like strokes on a lightly noisy white, seed 42), sent as BYTES; the model takes x FP32[N,3,48,192].") + Environment.NewLine +
            "(a) preprocess: the model's image step alone (decode, keep-aspect resize to 48 high, pad right, BGR, (v/255 - 0.5)/0.5) into x;" + Environment.NewLine +
            "(b) bare InferenceSession.Run on the host's own session, x pre-built as an OrtValue (baseline);" + Environment.NewLine +
            "(c) postprocess: the top_k and argmax_label steps alone on the model's softmax output;" + Environment.NewLine +
            "(d) the whole pipeline in process (IInferenceModel.Run: checks, a, the session, c); (e) POST /v2/models/ppocr-cls/infer, binary BYTES in, JSON out." + Environment.NewLine +
            Report.Invariant($"{Rounds} rounds x {PerRound} calls per variant and batch size, the order rotated every round; shares are of the median of (d)."));

        await using var serve = await ServeHost.StartAsync(Loopback.ModelRepository, 16 * 1024 * 1024);
        using var lease = await LoadAsync(serve, Model);
        var (preprocess, postprocess) = Steps(lease, "labels.txt");
        var modelInput = lease.Model.Signature.Inputs.Single();
        var modelOutput = lease.Model.Signature.Outputs.Single();
        var imageInput = lease.Endpoint.Signature.Inputs.Single();

        var random = new Random(42);
        var files = Enumerable.Range(0, Batches.Max()).Select(_ => TextLinePng(random)).ToArray();
        Report.Line($"image files: {files.Average(f => f.Length) / 1024.0:F1} KiB of PNG on average");
        using var client = Loopback.Client();
        var uri = new Uri(serve.BaseAddress, $"/v2/models/{Model}/infer");
        var session = lease.Model.Session;
        using var runOptions = new RunOptions();

        foreach (var batch in Batches)
        {
            var images = files[..batch];
            var imageTensor = PipelineTensor.Texts(imageInput.Name, [batch], images);
            using var imageRequest = InputTensor.CreateBytes(imageInput.Name, [batch], images);

            // The model's input and output as the pipeline makes them, built once for (b) and (c).
            var x = Apply(preprocess, imageTensor).Get(modelInput.Name);
            var xValues = x.AsSpan<float>().ToArray();
            using var xValue = OrtValue.CreateTensorValueFromMemory(xValues, x.Shape);
            string[] inputNames = [modelInput.Name];
            string[] outputNames = [modelOutput.Name];
            OrtValue[] inputValues = [xValue];
            float[] probabilities;
            using (var results = session.Run(runOptions, inputNames, inputValues, outputNames))
            {
                probabilities = results[0].GetTensorDataAsSpan<float>().ToArray();
            }

            var scores = PipelineTensor.Create(modelOutput.Name, TensorDataType.Fp32, [batch, probabilities.Length / batch], probabilities);
            var (body, headerLength) = BinaryBytesRequest(imageInput.Name, images);
            await CheckAgreesAsync(batch, lease.Endpoint, imageRequest, postprocess, scores, client, uri, body, headerLength);

            PipelineVariant[] variants =
            [
                new("(a) preprocess: decode, resize, normalise", () => Time(() => Apply(preprocess, imageTensor))),
                new("(b) bare InferenceSession.Run (baseline)", () => Time(() => session.Run(runOptions, inputNames, inputValues, outputNames).Dispose())),
                new("(c) postprocess: top_k + argmax_label", () => Time(() => Apply(postprocess, scores))),
                new("(d) whole pipeline in process", () => Time(() => lease.Endpoint.Run([imageRequest], null, CancellationToken.None).Dispose())),
                new("(e) full HTTP, binary BYTES in", () => TimeRequestAsync(client, uri, body, headerLength)),
            ];
            var samples = await MeasureAsync(variants);
            var (pre, run, _, whole, _) = PrintShares($"batch {batch} ({batch} image{(batch == 1 ? "" : "s")} per request)", variants, samples, "image", batch);
            Report.Ratio("preprocess / session Run", pre / run);
            Report.Ratio("whole pipeline (d) / session Run", whole / run);
        }
    }

    /// <summary>The in-process pipeline, the separately run steps and the HTTP answer must give the same labels.</summary>
    private static async Task CheckAgreesAsync(
        int batch, IInferenceModel endpoint, InputTensor images, IReadOnlyList<IPipelineOperation> postprocess, PipelineTensor scores, HttpClient client, Uri uri, byte[] body, int headerLength)
    {
        string[] stepLabels = [.. Apply(postprocess, scores).Get("label").Strings!.Select(s => System.Text.Encoding.UTF8.GetString(s))];
        using var outputs = endpoint.Run([images], ["label"], CancellationToken.None);
        var label = outputs.Tensors.Single();
        string[] pipelineLabels = [.. Enumerable.Range(0, label.ElementCount).Select(i => System.Text.Encoding.UTF8.GetString(label.GetBytes(i)))];
        using var request = InferBodies.Post(uri, body, headerLength);
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.OK || !stepLabels.SequenceEqual(pipelineLabels) || !stepLabels.All(l => text.Contains($"\"{l}\"", StringComparison.Ordinal)))
        {
            throw new InvalidOperationException(Report.Invariant($"batch {batch}: the steps say {string.Join(',', stepLabels)}, the pipeline {string.Join(',', pipelineLabels)}, HTTP {(int)response.StatusCode} {text}"));
        }

        Report.Line($"batch {batch}: steps, pipeline and HTTP agree on the labels ({string.Join(", ", stepLabels)})");
    }

    /// <summary>A binary-extension request of BYTES elements: the JSON header, then each element's 4-byte length and bytes.</summary>
    private static (byte[] Body, int HeaderLength) BinaryBytesRequest(string input, byte[][] elements)
    {
        using var data = new MemoryStream();
        foreach (var element in elements)
        {
            data.Write(BitConverter.GetBytes(element.Length));
            data.Write(element);
        }

        var header = System.Text.Encoding.UTF8.GetBytes(Report.Invariant(
            $$$"""{"inputs":[{"name":"{{{input}}}","datatype":"BYTES","shape":[{{{elements.Length}}}],"parameters":{"binary_data_size":{{{data.Length}}}}}]}"""));
        return ([.. header, .. data.ToArray()], header.Length);
    }

    /// <summary>A text-line-like PNG: rows of dark strokes of random widths on white with faint noise.</summary>
    private static byte[] TextLinePng(Random random)
    {
        using var image = new Image<Rgb24>(ImageWidth, ImageHeight);
        for (var y = 0; y < ImageHeight; y++)
        {
            for (var x = 0; x < ImageWidth; x++)
            {
                var v = (byte)(235 + random.Next(21));
                image[x, y] = new Rgb24(v, v, v);
            }
        }

        for (var x = 8; x < ImageWidth - 16;)
        {
            var width = 2 + random.Next(4);
            var top = 14 + random.Next(8);
            var bottom = ImageHeight - 14 - random.Next(8);
            for (var dx = 0; dx < width; dx++)
            {
                for (var y = top; y < bottom; y++)
                {
                    image[x + dx, y] = new Rgb24(30, 30, 40);
                }
            }

            x += width + 2 + random.Next(8);
        }

        using var stream = new MemoryStream();
        image.Save(stream, new PngEncoder());
        return stream.ToArray();
    }
}

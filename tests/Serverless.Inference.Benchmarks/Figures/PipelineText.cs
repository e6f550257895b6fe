using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Serverless.Inference.Benchmarks.Harness;
using static Serverless.Inference.Benchmarks.Harness.PipelineShares;
using Serverless.Inference.Pipelines;
using Serverless.Inference.Runtime;

namespace Serverless.Inference.Benchmarks.Figures;

/// <summary>
/// Figure pipeline-text: where the time of a sentence embedding request goes, on the sample <c>minilm</c>
/// (all-MiniLM-L6-v2: input_ids, attention_mask, token_type_ids int64 [N, L] to last_hidden_state float [N, L, 384]):
/// the pipeline's preprocessing (bert_tokenize) and postprocessing (mean_pool, l2_normalize) against the bare
/// <see cref="InferenceSession.Run(RunOptions, IReadOnlyCollection{string}, IReadOnlyCollection{OrtValue}, IReadOnlyCollection{string})"/>
/// on the host's own session, at batch 1 and 8; with the whole pipeline in process and over HTTP for scale.
/// </summary>
internal static class PipelineText
{
    private const string Model = "minilm";
    private static readonly int[] Batches = [1, 8];

    /// <summary>Ordinary English sentences of 5 to 19 words.</summary>
    private static readonly string[] Sentences =
    [
        "The quick brown fox jumps over the lazy dog near the riverbank.",
        "A man is eating food.",
        "Serverless inference keeps a model warm between requests so that most calls avoid a cold start.",
        "She said the café on the corner serves the best croissants in town.",
        "How do I reset my password if I no longer have access to the email address on my account?",
        "Transformers turn word pieces into context-dependent vectors.",
        "The meeting was moved to Thursday afternoon because two of the speakers were travelling.",
        "Embeddings of related sentences point in similar directions, so their cosine similarity is high.",
    ];

    public static async Task RunAsync()
    {
        Report.Title(
            "pipeline-text: minilm, share of a request spent in pre- and postprocessing",
            "input: English sentences of 5 to 19 words, sent as BYTES; the model takes input_ids, attention_mask, token_type_ids INT64[N,L]." + Environment.NewLine +
            "(a) preprocess: the bert_tokenize step alone (UTF-8 check, accent folding, WordPiece, padding to the longest) into the three tensors;" + Environment.NewLine +
            "(b) bare InferenceSession.Run on the host's own session, the three tensors pre-built as OrtValues (baseline);" + Environment.NewLine +
            "(c) postprocess: the mean_pool and l2_normalize steps alone on the model's last_hidden_state;" + Environment.NewLine +
            "(d) the whole pipeline in process (IInferenceModel.Run: checks, a, the session, c); (e) POST /v2/models/minilm/infer, JSON texts in, JSON out." + Environment.NewLine +
            Report.Invariant($"{Rounds} rounds x {PerRound} calls per variant and batch size, the order rotated every round; shares are of the median of (d)."));

        await using var serve = await ServeHost.StartAsync(Loopback.ModelRepository, 16 * 1024 * 1024);
        using var lease = await LoadAsync(serve, Model);
        var (preprocess, postprocess) = Steps(lease, "vocab.txt");
        var textInput = lease.Endpoint.Signature.Inputs.Single();
        string[] inputNames = [.. lease.Model.Signature.Inputs.Select(input => input.Name)];
        string[] outputNames = [.. lease.Model.Signature.Outputs.Select(output => output.Name)];

        using var client = Loopback.Client();
        var uri = new Uri(serve.BaseAddress, $"/v2/models/{Model}/infer");
        var session = lease.Model.Session;
        using var runOptions = new RunOptions();

        foreach (var batch in Batches)
        {
            var texts = Sentences[..batch].Select(Encoding.UTF8.GetBytes).ToArray();
            var textTensor = PipelineTensor.Texts(textInput.Name, [batch], texts);
            using var textRequest = InputTensor.CreateBytes(textInput.Name, [batch], texts);

            // The model's inputs and output as the pipeline makes them, built once for (b) and (c).
            var tokenized = Apply(preprocess, textTensor);
            var tokens = inputNames.Select(name => tokenized.Get(name)).ToArray();
            var tokenArrays = tokens.Select(t => t.AsSpan<long>().ToArray()).ToArray();
            var inputValues = tokens.Select((t, i) => OrtValue.CreateTensorValueFromMemory(tokenArrays[i], t.Shape)).ToArray();
            PipelineTensor hidden;
            using (var results = session.Run(runOptions, inputNames, inputValues, outputNames))
            {
                var value = results[0];
                hidden = PipelineTensor.Create(outputNames[0], TensorDataType.Fp32, value.GetTensorTypeAndShape().Shape, value.GetTensorDataAsSpan<float>().ToArray());
            }

            var attentionMask = tokenized.Get("attention_mask");
            var body = Encoding.UTF8.GetBytes(Report.Invariant(
                $$$"""{"inputs":[{"name":"{{{textInput.Name}}}","datatype":"BYTES","shape":[{{{batch}}}],"data":{{{JsonSerializer.Serialize(Sentences[..batch])}}}}]}"""));
            await CheckAgreesAsync(batch, lease.Endpoint, textRequest, postprocess, hidden, attentionMask, client, uri, body);

            PipelineVariant[] variants =
            [
                new("(a) preprocess: bert_tokenize", () => Time(() => Apply(preprocess, textTensor))),
                new("(b) bare InferenceSession.Run (baseline)", () => Time(() => session.Run(runOptions, inputNames, inputValues, outputNames).Dispose())),
                new("(c) postprocess: mean_pool + l2_normalize", () => Time(() => Apply(postprocess, hidden, attentionMask))),
                new("(d) whole pipeline in process", () => Time(() => lease.Endpoint.Run([textRequest], null, CancellationToken.None).Dispose())),
                new("(e) full HTTP, JSON texts in", () => TimeRequestAsync(client, uri, body, null)),
            ];
            var samples = await MeasureAsync(variants);
            foreach (var value in inputValues)
            {
                value.Dispose();
            }

            var (pre, run, post, whole, _) = PrintShares(
                $"batch {batch} ({batch} text{(batch == 1 ? "" : "s")} per request, padded to {tokens[0].Shape[1]} tokens)", variants, samples, "text", batch);
            Report.Ratio("pre + postprocess / session Run", (pre + post) / run);
            Report.Ratio("whole pipeline (d) / session Run", whole / run);
        }
    }

    /// <summary>The in-process pipeline, the separately run steps and the HTTP answer must give the same embeddings.</summary>
    private static async Task CheckAgreesAsync(
        int batch, IInferenceModel endpoint, InputTensor texts, IReadOnlyList<IPipelineOperation> postprocess, PipelineTensor hidden, PipelineTensor mask, HttpClient client, Uri uri, byte[] body)
    {
        var steps = Apply(postprocess, hidden, mask).Get("embedding").AsSpan<float>().ToArray();
        using var outputs = endpoint.Run([texts], null, CancellationToken.None);
        var pipeline = outputs.Tensors.Single().AsSpan<float>().ToArray();
        using var request = InferBodies.Post(uri, body, null);
        using var response = await client.SendAsync(request);
        var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var http = json.RootElement.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        var stepsVsPipeline = steps.Zip(pipeline, (a, b) => Math.Abs(a - b)).DefaultIfEmpty(float.NaN).Max();
        var pipelineVsHttp = pipeline.Zip(http, (a, b) => Math.Abs(a - b)).DefaultIfEmpty(float.NaN).Max();
        if (steps.Length != 384 * batch || pipeline.Length != steps.Length || http.Length != steps.Length || !(stepsVsPipeline <= 1e-5f) || !(pipelineVsHttp <= 1e-5f))
        {
            throw new InvalidOperationException(Report.Invariant(
                $"batch {batch}: the steps, the pipeline and HTTP disagree ({steps.Length}, {pipeline.Length}, {http.Length} values; up to {stepsVsPipeline:E1} and {pipelineVsHttp:E1} apart)"));
        }

        Report.Line($"batch {batch}: steps, pipeline and HTTP agree on the embeddings (within {Math.Max(stepsVsPipeline, pipelineVsHttp):E1})");
    }
}

using System.Text;
using Serverless.Inference.Pipelines;
using Serverless.Inference.Pipelines.Steps;
using Serverless.Inference.Runtime;
using Serverless.Inference.Tests.Support;

namespace Serverless.Inference.Tests.Pipelines.Text;

/// <summary>Text pipeline steps run by hand, outside any model: prepared once, applied to a request's tensors.</summary>
internal static class TextSteps
{
    /// <summary>The sample MiniLM model's version folder in the test output (model.onnx and vocab.txt, extracted at build time).</summary>
    public static string MiniLmVersionFolder => Path.Combine(TempModelRepository.SampleModels, "minilm", "1");

    /// <summary>BERT uncased's 30,522-token vocabulary, as all-MiniLM-L6-v2 ships it (one token a line, CRLF).</summary>
    public static string VocabPath => Path.Combine(MiniLmVersionFolder, "vocab.txt");

    /// <summary>A BERT model's tensors, dynamic batch and sequence length.</summary>
    public static ModelSignature Bert { get; } = new(
        [
            new TensorSpec("input_ids", TensorDataType.Int64, [-1, -1]),
            new TensorSpec("attention_mask", TensorDataType.Int64, [-1, -1]),
            new TensorSpec("token_type_ids", TensorDataType.Int64, [-1, -1]),
        ],
        [new TensorSpec("last_hidden_state", TensorDataType.Fp32, [-1, -1, 384])]);

    public static BertTokenizeStep Tokenizer(int maxLength = 256, string pad = BertTokenizeStep.PadLongest) =>
        new("text", "vocab.txt", MaxLength: maxLength, Pad: pad);

    /// <summary>Prepares a step as a model load would, with vocab.txt as its one asset.</summary>
    public static IPipelineOperation Prepare(PipelineStep step, ModelSignature? model = null, string? vocabPath = null) =>
        step.Create(new PipelineBuildContext(new Dictionary<string, string> { ["vocab.txt"] = vocabPath ?? VocabPath }, model ?? Bert));

    /// <summary>Applies a prepared step to UTF-8 texts sent as <c>text</c> BYTES [N].</summary>
    public static PipelineRun Apply(IPipelineOperation operation, params string[] texts) =>
        Apply(operation, [texts.Length], [.. texts.Select(Encoding.UTF8.GetBytes)]);

    public static PipelineRun Apply(IPipelineOperation operation, long[] shape, params byte[][] elements)
    {
        var run = new PipelineRun(CancellationToken.None);
        run.Set(PipelineTensor.Texts("text", shape, elements));
        operation.Apply(run);
        return run;
    }

    /// <summary>One row of an int64 [N, L] tensor.</summary>
    public static long[] Row(PipelineRun run, string name, int row)
    {
        var tensor = run.Get(name);
        var width = (int)tensor.Shape[1];
        return tensor.AsSpan<long>().Slice(row * width, width).ToArray();
    }

    /// <summary>The token ids of one row, without padding (where the attention mask is 0).</summary>
    public static long[] Tokens(PipelineRun run, int row)
    {
        var mask = Row(run, "attention_mask", row);
        return [.. Row(run, "input_ids", row).Where((_, i) => mask[i] != 0)];
    }

    /// <summary>The response parameter a run added, as raw JSON; null when absent.</summary>
    public static string? Parameter(PipelineRun run, string name) =>
        run.RowCounts.FirstOrDefault(p => p.Name == name)?.ToParameter(0, int.MaxValue) is { } parameter ? Encoding.UTF8.GetString(parameter.RawJsonValue) : null;
}

using System.Text;
using Serverless.Inference.Pipelines;
using Serverless.Inference.Pipelines.Steps;
using Serverless.Inference.Repository;
using Serverless.Inference.Tests.Support;

namespace Serverless.Inference.Tests.Pipelines.Text;

/// <summary>The text steps as model.json declares them: snake_case options, defaults, typos refused.</summary>
public sealed class TextManifestTests
{
    [Fact]
    public void Parse_SampleMiniLmManifest_TokenizeThenPoolAndNormalize()
    {
        var manifest = ModelManifest.Parse(File.ReadAllBytes(Path.Combine(TempModelRepository.SampleModels, "minilm", "model.json")), "minilm/model.json");

        var pipeline = manifest.Pipeline!;
        Assert.Equal(64, manifest.MaxBatchSize);
        Assert.Equal(2, manifest.IntraOpThreads);
        Assert.Equal(new BertTokenizeStep("text", "vocab.txt", Lowercase: true, MaxLength: 256), Assert.Single(pipeline.Preprocess));
        Assert.Equal(
            [new MeanPoolStep("last_hidden_state", "attention_mask", "embedding"), new L2NormalizeStep("embedding")],
            pipeline.Postprocess);
        Assert.Equal(["text BYTES [-1]"], pipeline.Inputs.Select(Describe));
        Assert.Equal(["embedding FP32 [-1,384]"], pipeline.Outputs.Select(Describe));
    }

    [Fact]
    public void Parse_EveryBertTokenizeOption_ReadAsSnakeCase()
    {
        var step = Preprocess("""
            { "type": "bert_tokenize", "input": "query", "vocab": "words.txt", "lowercase": false, "max_length": 128, "pad": "max_length",
              "input_ids": "ids", "attention_mask": "mask", "token_type_ids": "types" }
            """);

        Assert.Equal(new BertTokenizeStep("query", "words.txt", false, 128, "max_length", "ids", "mask", "types"), step);
    }

    [Fact]
    public void Parse_BertTokenizeDefaults_LowercaseLongest512AndBertNames()
    {
        var step = Assert.IsType<BertTokenizeStep>(Preprocess("""{ "type": "bert_tokenize", "input": "text", "vocab": "vocab.txt" }"""));

        Assert.Equal((true, 512, "longest"), (step.Lowercase, step.MaxLength, step.Pad));
        Assert.Equal(["input_ids", "attention_mask", "token_type_ids"], step.Produces);
    }

    [Theory]
    [InlineData("""{ "type": "bert_tokenize", "input": "text", "vocab": "vocab.txt", "max_len": 128 }""", "max_len")]
    [InlineData("""{ "type": "mean_pool", "input": "last_hidden_state", "mask": "attention_mask", "weights": "x" }""", "weights")]
    public void Parse_UnknownOption_Refused(string step, string option)
    {
        var error = Assert.Throws<InferenceException>(() => Preprocess(step));

        Assert.Equal(InferenceErrorKind.Unavailable, error.Kind);
        Assert.Contains(option, error.Message, StringComparison.Ordinal);
    }

    private static string Describe(PipelineTensorSpec tensor) => $"{tensor.Name} {tensor.Datatype} [{string.Join(',', tensor.Shape)}]";

    private static PipelineStep Preprocess(string step)
    {
        var json = $$"""
            { "pipeline": { "inputs": [{ "name": "text", "datatype": "BYTES", "shape": [-1] }], "preprocess": [{{step}}],
                            "outputs": [{ "name": "text", "datatype": "BYTES", "shape": [-1] }] } }
            """;
        return Assert.Single(ModelManifest.Parse(Encoding.UTF8.GetBytes(json), "model.json").Pipeline!.Preprocess);
    }
}

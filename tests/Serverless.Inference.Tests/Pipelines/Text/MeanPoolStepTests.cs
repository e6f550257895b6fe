using Serverless.Inference.Pipelines;
using Serverless.Inference.Pipelines.Steps;
using Serverless.Inference.Runtime;

namespace Serverless.Inference.Tests.Pipelines.Text;

/// <summary>The mean_pool step: sentence-transformers' mean of the token vectors the attention mask keeps.</summary>
public sealed class MeanPoolStepTests
{
    private static readonly MeanPoolStep Step = new("last_hidden_state", "attention_mask", "embedding");

    [Fact]
    public void Apply_MaskedPositions_LeftOutOfTheMean()
    {
        // Two texts of three positions, vectors of two: the first keeps two tokens, the second one.
        var run = Run(
            [2, 3, 2],
            [1f, 2f, 3f, 6f, 100f, 100f, /* row 2 */ 5f, -5f, 100f, 100f, 100f, 100f],
            [1, 1, 0, /* row 2 */ 1, 0, 0]);

        var embedding = run.Get("embedding");
        Assert.Equal(TensorDataType.Fp32, embedding.DataType);
        Assert.Equal([2L, 2], embedding.Shape);
        Assert.Equal([2f, 4f, 5f, -5f], embedding.AsSpan<float>().ToArray());
    }

    [Fact]
    public void Apply_NothingMasked_MeanOfEveryPosition()
    {
        var run = Run([1, 4, 1], [1f, 2f, 3f, 10f], [1, 1, 1, 1]);

        Assert.Equal([4f], run.Get("embedding").AsSpan<float>().ToArray());
    }

    [Fact]
    public void Apply_NoTokenKept_GivesZeros()
    {
        // sentence-transformers divides by max(count, 1e-9): a zero sum stays zero.
        var run = Run([1, 2, 3], [1f, 2f, 3f, 4f, 5f, 6f], [0, 0]);

        Assert.Equal([0f, 0f, 0f], run.Get("embedding").AsSpan<float>().ToArray());
    }

    [Fact]
    public void Apply_OutputOmitted_ReplacesTheInput()
    {
        var step = new MeanPoolStep("last_hidden_state", "attention_mask");
        var run = Run([1, 2, 1], [2f, 4f], [1, 1], step);

        Assert.Equal(["last_hidden_state"], step.Produces);
        Assert.Equal([1L, 1], run.Get("last_hidden_state").Shape);
        Assert.Equal([3f], run.Get("last_hidden_state").AsSpan<float>().ToArray());
    }

    [Fact]
    public void Apply_MaskOfAnotherShape_InternalError()
    {
        var error = Assert.Throws<InferenceException>(() => Run([1, 2, 1], [2f, 4f], [1, 1, 1], maskShape: [1, 3]));

        Assert.Equal(InferenceErrorKind.Internal, error.Kind);
        Assert.Contains("INT64 mask [1, 2]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Apply_InputNotRankThree_InternalError()
    {
        var error = Assert.Throws<InferenceException>(() => Run([1, 2], [2f, 4f], [1], maskShape: [1, 1]));

        Assert.Equal(InferenceErrorKind.Internal, error.Kind);
        Assert.Contains("FP32 token vectors [N, L, H]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ConsumesAndProduces_NameTheTensors()
    {
        Assert.Equal(["last_hidden_state", "attention_mask"], Step.Consumes);
        Assert.Equal(["embedding"], Step.Produces);
    }

    private static PipelineRun Run(long[] shape, float[] vectors, long[] mask, MeanPoolStep? step = null, long[]? maskShape = null)
    {
        step ??= Step;
        var run = new PipelineRun(CancellationToken.None);
        run.Set(PipelineTensor.Create("last_hidden_state", TensorDataType.Fp32, shape, vectors));
        run.Set(PipelineTensor.Create("attention_mask", TensorDataType.Int64, maskShape ?? shape[..2], mask));
        TextSteps.Prepare(step).Apply(run);
        return run;
    }
}

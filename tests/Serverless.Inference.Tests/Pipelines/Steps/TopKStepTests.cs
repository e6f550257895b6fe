using Serverless.Inference.Pipelines.Steps;
using Serverless.Inference.Runtime;
using Serverless.Inference.Tests.Pipelines.ImageSupport;
using Serverless.Inference.Tests.Support;

namespace Serverless.Inference.Tests.Pipelines.Steps;

public sealed class TopKStepTests : IDisposable
{
    private readonly TempModelRepository _folder = new();

    [Fact]
    public void Apply_Rows_GiveTheBestLabelsAndScoresBestFirst()
    {
        var step = new TopKStep("p", K: 2, Labels: "labels.txt", OutputLabels: "labels", OutputScores: "scores");
        var run = StepHarness.Apply(Prepare(step, "cat\ndog\nbird\n"), StepHarness.Floats("p", [2, 3], 0.1f, 0.7f, 0.2f, 0.5f, 0.1f, 0.4f));

        Assert.Equal([2L, 2], run.Get("labels").Shape);
        Assert.Equal(["dog", "bird", "cat", "bird"], StepHarness.Texts(run.Get("labels")));
        Assert.Equal([2L, 2], run.Get("scores").Shape);
        Assert.Equal([0.7f, 0.2f, 0.5f, 0.4f], run.Get("scores").AsSpan<float>().ToArray());
    }

    [Fact]
    public void Apply_TiesAndNaN_KeepClassOrderAndRankNaNLast()
    {
        var step = new TopKStep("p", K: 4);
        var run = StepHarness.Apply(StepHarness.Prepare(step), StepHarness.Floats("p", [5], float.NaN, 0.3f, 0.5f, 0.3f, 0.1f));

        Assert.Equal(["2", "1", "3", "4"], StepHarness.Texts(run.Get("top_k_labels")));
        Assert.Equal([0.5f, 0.3f, 0.3f, 0.1f], run.Get("top_k_scores").AsSpan<float>().ToArray());
    }

    [Fact]
    public void Apply_KEqualToTheClassCount_SortsEveryClass()
    {
        var run = StepHarness.Apply(StepHarness.Prepare(new TopKStep("p", K: 3)), StepHarness.Floats("p", [1, 3], 1, 3, 2));

        Assert.Equal(["1", "2", "0"], StepHarness.Texts(run.Get("top_k_labels")));
    }

    [Fact]
    public void Create_LabelsFileShorterThanTheDeclaredOutput_FailsTheLoad()
    {
        var model = new ModelSignature([], [new TensorSpec("p", TensorDataType.Fp32, [-1, 3])]);
        var step = new TopKStep("p", K: 1, Labels: "labels.txt");

        StepHarness.AssertFails(
            InferenceErrorKind.Unavailable,
            () => Prepare(step, "cat\ndog\n", model),
            "top_k step on 'p': the labels file labels.txt has 2 label(s), but the model's output has 3 classes");
    }

    [Fact]
    public void Apply_LabelsFileShorterThanUndeclaredScores_RefusesEachRequestAsUnavailable()
    {
        var operation = Prepare(new TopKStep("p", Labels: "labels.txt"), "cat\ndog\n");

        StepHarness.AssertFails(
            InferenceErrorKind.Unavailable,
            () => StepHarness.Apply(operation, StepHarness.Floats("p", [1, 3], 1, 2, 3)),
            "the labels file labels.txt has 2 label(s), but the model's output has 3 classes");
    }

    [Fact]
    public void Create_LongerLabelsFileWithCrLfAndTrailingBlankLines_IsAccepted()
    {
        var operation = Prepare(new TopKStep("p", K: 1, Labels: "labels.txt"), "\uFEFFcat\r\ndog\r\nbird\r\n\r\n\r\n", new ModelSignature([], [new TensorSpec("p", TensorDataType.Fp32, [-1, 2])]));

        var run = StepHarness.Apply(operation, StepHarness.Floats("p", [1, 2], 3, 1));

        Assert.Equal(["cat"], StepHarness.Texts(run.Get("top_k_labels")));
    }

    [Theory]
    [InlineData("", "is empty")]
    [InlineData("\n\n", "is empty")]
    public void Create_EmptyLabelsFile_FailsTheLoad(string content, string problem)
    {
        StepHarness.AssertFails(InferenceErrorKind.Unavailable, () => Prepare(new TopKStep("p", Labels: "labels.txt"), content), problem);
    }

    [Fact]
    public void Create_KAboveTheDeclaredClassCount_FailsTheLoad()
    {
        var model = new ModelSignature([], [new TensorSpec("p", TensorDataType.Fp32, [-1, 2])]);

        StepHarness.AssertFails(InferenceErrorKind.Unavailable, () => StepHarness.Prepare(new TopKStep("p", K: 3), model), "k is 3, but the model's output has only 2 classes");
        StepHarness.AssertFails(InferenceErrorKind.Unavailable, () => StepHarness.Prepare(new TopKStep("p", K: 0)), "k must be at least 1, not 0");
        StepHarness.AssertFails(InferenceErrorKind.Unavailable, () => StepHarness.Prepare(new TopKStep("p", OutputLabels: "same", OutputScores: "same")), "the two outputs distinct");
    }

    [Fact]
    public void Apply_KAboveTheClassCount_RefusesTheRequestAsUnavailable()
    {
        StepHarness.AssertFails(
            InferenceErrorKind.Unavailable,
            () => StepHarness.Apply(StepHarness.Prepare(new TopKStep("p", K: 3)), StepHarness.Floats("p", [1, 2], 1, 2)),
            "k is 3, but the scores have only 2 classes");
    }

    [Fact]
    public void Assets_NameTheLabelsFile()
    {
        Assert.Equal(["labels.txt"], new TopKStep("p", Labels: "labels.txt").Assets);
        Assert.Empty(new TopKStep("p").Assets);
        Assert.Equal(["top_k_labels", "top_k_scores"], new TopKStep("p").Produces);
    }

    public void Dispose() => _folder.Dispose();

    private Serverless.Inference.Pipelines.IPipelineOperation Prepare(TopKStep step, string labels, ModelSignature? model = null)
    {
        var path = Path.Combine(_folder.Root, "labels.txt");
        File.WriteAllText(path, labels);
        return StepHarness.Prepare(step, model, new Dictionary<string, string> { ["labels.txt"] = path });
    }
}

using Serverless.Inference.Pipelines.Steps;
using Serverless.Inference.Runtime;
using Serverless.Inference.Tests.Pipelines.ImageSupport;
using Serverless.Inference.Tests.Support;

namespace Serverless.Inference.Tests.Pipelines.Steps;

public sealed class ArgmaxLabelStepTests : IDisposable
{
    private readonly TempModelRepository _folder = new();

    [Fact]
    public void Apply_Rows_GiveTheLabelOfEachMaximumWithTheLastAxisDropped()
    {
        var operation = Prepare(new ArgmaxLabelStep("p", "label", "labels.txt"), "0\n180\n");

        var run = StepHarness.Apply(operation, StepHarness.Floats("p", [3, 2], 0.9f, 0.1f, 0.2f, 0.8f, 0.5f, 0.5f));

        Assert.Equal([3L], run.Get("label").Shape);
        Assert.Equal(TensorDataType.Bytes, run.Get("label").DataType);
        Assert.Equal(["0", "180", "0"], StepHarness.Texts(run.Get("label")));
    }

    [Fact]
    public void Apply_WithoutLabels_GivesTheIndexAsText()
    {
        var run = StepHarness.Apply(StepHarness.Prepare(new ArgmaxLabelStep("p", "label")), StepHarness.Floats("p", [1, 1, 4], -3, -1, float.NaN, -2));

        Assert.Equal([1L, 1], run.Get("label").Shape);
        Assert.Equal(["1"], StepHarness.Texts(run.Get("label")));
    }

    [Fact]
    public void Create_LabelsFileShorterThanTheDeclaredOutput_FailsTheLoad()
    {
        var model = new ModelSignature([], [new TensorSpec("p", TensorDataType.Fp32, [-1, 2])]);

        StepHarness.AssertFails(
            InferenceErrorKind.Unavailable,
            () => Prepare(new ArgmaxLabelStep("p", "label", "labels.txt"), "0\n", model),
            "argmax_label step on 'p': the labels file labels.txt has 1 label(s), but the model's output has 2 classes");
    }

    [Fact]
    public void Apply_LabelsFileShorterThanUndeclaredScores_RefusesTheRequestAsUnavailable()
    {
        var operation = Prepare(new ArgmaxLabelStep("p", "label", "labels.txt"), "0\n");

        StepHarness.AssertFails(
            InferenceErrorKind.Unavailable,
            () => StepHarness.Apply(operation, StepHarness.Floats("p", [1, 2], 1, 2)),
            "has 1 label(s), but the model's output has 2 classes");
    }

    [Fact]
    public void Create_MissingLabelsAsset_FailsTheLoad()
    {
        StepHarness.AssertFails(InferenceErrorKind.Unavailable, () => StepHarness.Prepare(new ArgmaxLabelStep("p", "label", "labels.txt")), "the labels file labels.txt was not found");
    }

    public void Dispose() => _folder.Dispose();

    private Serverless.Inference.Pipelines.IPipelineOperation Prepare(ArgmaxLabelStep step, string labels, ModelSignature? model = null)
    {
        var path = Path.Combine(_folder.Root, "labels.txt");
        File.WriteAllText(path, labels);
        return StepHarness.Prepare(step, model, new Dictionary<string, string> { ["labels.txt"] = path });
    }
}

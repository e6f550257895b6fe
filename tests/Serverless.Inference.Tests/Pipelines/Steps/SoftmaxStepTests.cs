using Serverless.Inference.Pipelines.Steps;
using Serverless.Inference.Runtime;
using Serverless.Inference.Tests.Pipelines.ImageSupport;

namespace Serverless.Inference.Tests.Pipelines.Steps;

public sealed class SoftmaxStepTests
{
    [Fact]
    public void Apply_Rows_GiveExpOverSumPerRow()
    {
        var output = StepHarness.Run(new SoftmaxStep("logits", "p"), "p", StepHarness.Floats("logits", [2, 3], 0, 0, 0, 1, 2, 3));

        Assert.Equal([2L, 3], output.Shape);
        var p = output.AsSpan<float>().ToArray();
        Assert.All(p[..3], v => Assert.Equal(1.0 / 3, v, 6));
        // e^1, e^2, e^3 over their sum 30.1928...: 0.0900306, 0.2447285, 0.6652410.
        Assert.Equal(0.0900306, p[3], 6);
        Assert.Equal(0.2447285, p[4], 6);
        Assert.Equal(0.6652410, p[5], 6);
    }

    [Fact]
    public void Apply_HugeLogits_DoNotOverflow()
    {
        // exp(1000) overflows a float; subtracting the row's maximum first keeps every term in range.
        var output = StepHarness.Run(new SoftmaxStep("logits", "p"), "p", StepHarness.Floats("logits", [1, 3], 1000, 1001, 1002));

        var p = output.AsSpan<float>().ToArray();
        Assert.All(p, v => Assert.True(float.IsFinite(v)));
        Assert.Equal(0.0900306, p[0], 6);
        Assert.Equal(0.6652410, p[2], 6);
        Assert.Equal(1.0, p.Sum(), 6);
    }

    [Fact]
    public void Apply_VeryNegativeLogits_StillSumToOne()
    {
        var output = StepHarness.Run(new SoftmaxStep("logits", "p"), "p", StepHarness.Floats("logits", [3], -1000, -1000, -2000));

        Assert.Equal([0.5f, 0.5f, 0f], output.AsSpan<float>().ToArray());
    }

    [Fact]
    public void Apply_WithoutOutput_ReplacesTheInput()
    {
        var run = StepHarness.Apply(StepHarness.Prepare(new SoftmaxStep("logits")), StepHarness.Floats("logits", [2], 5, 5));

        Assert.Equal([0.5f, 0.5f], run.Get("logits").AsSpan<float>().ToArray());
    }

    [Fact]
    public void Apply_NotFp32_IsAPipelineMistake()
    {
        var ints = Serverless.Inference.Pipelines.PipelineTensor.Create("logits", TensorDataType.Int32, [2], new[] { 1, 2 });

        StepHarness.AssertFails(InferenceErrorKind.Internal, () => StepHarness.Run(new SoftmaxStep("logits"), "logits", ints), "softmax needs an FP32 tensor");
    }
}

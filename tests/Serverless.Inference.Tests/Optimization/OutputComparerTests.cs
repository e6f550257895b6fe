using System.Text;
using Serverless.Inference.Optimization;
using Serverless.Inference.Optimization.Reports;
using Serverless.Inference.Runtime;

namespace Serverless.Inference.Tests.Optimization;

public sealed class OutputComparerTests
{
    [Fact]
    public void Compare_LabelsAndScores_AgreementFromTheLabelsOnly()
    {
        var source = Capture(Labels("up", "up", "down", "up"), Scores(0.9f, 0.1f, 0.8f, 0.2f, 0.3f, 0.7f, 0.6f, 0.4f));
        var variant = Capture(Labels("up", "down", "down", "up"), Scores(0.9f, 0.1f, 0.4f, 0.6f, 0.3f, 0.7f, 0.6f, 0.4f));

        var differences = OutputComparer.Compare(source, variant);

        var label = differences.Single(d => d.Name == "label");
        Assert.Equal(0.75, label.Top1Agreement);
        Assert.Equal((null, null, null), (label.MaxAbsDiff, label.MeanAbsDiff, label.MeanCosine));
        var scores = differences.Single(d => d.Name == "scores");
        Assert.Null(scores.Top1Agreement);
        Assert.Equal(0.4, scores.MaxAbsDiff!.Value, 6);
        Assert.Equal(0.8 / 8, scores.MeanAbsDiff!.Value, 6);
        // Row 2: (0.8, 0.2) vs (0.4, 0.6): cosine 0.44 / (sqrt(0.68) * sqrt(0.52)).
        var row2 = 0.44 / (Math.Sqrt(0.68) * Math.Sqrt(0.52));
        Assert.Equal((3 + row2) / 4, scores.MeanCosine!.Value, 6);
        Assert.Equal(row2, scores.MinCosine!.Value, 6);
    }

    [Fact]
    public void Compare_IntegerLabels_AgreementWithoutCosine()
    {
        var source = Capture(OutputTensor.FromArray("class", TensorDataType.Int64, [3], new long[] { 1, 2, 3 }));
        var variant = Capture(OutputTensor.FromArray("class", TensorDataType.Int64, [3], new long[] { 1, 0, 3 }));

        var difference = Assert.Single(OutputComparer.Compare(source, variant));

        Assert.Equal(2.0 / 3, difference.Top1Agreement!.Value, 9);
        Assert.Null(difference.MeanCosine);
        Assert.Equal(2, difference.MaxAbsDiff);
    }

    [Fact]
    public void Compare_VariantChangesAnOutputsType_IsRefused()
    {
        var source = Capture(OutputTensor.FromArray("y", TensorDataType.Fp32, [1, 2], new[] { 1f, 2f }));
        var variant = Capture(OutputTensor.FromArray("y", TensorDataType.Fp16, [1, 2], new[] { (Half)1, (Half)2 }));

        var failure = Assert.Throws<OptimizationException>(() => OutputComparer.Compare(source, variant));

        Assert.Contains("callers would see a change", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Compare_NaNInTheVariant_FailsAnyCosineGate()
    {
        var source = Capture(OutputTensor.FromArray("y", TensorDataType.Fp32, [1, 2], new[] { 1f, 2f }));
        var variant = Capture(OutputTensor.FromArray("y", TensorDataType.Fp32, [1, 2], new[] { float.NaN, 2f }));

        var gates = ReportGates.Check(-1, null, OutputComparer.Compare(source, variant));

        Assert.False(gates.Passed);
    }

    [Fact]
    public void Cosine_ZeroVectors_OneWhenBothZeroNoneWhenOne()
    {
        Assert.Equal(1, OutputComparer.Cosine([0, 0], [0, 0]));
        Assert.Equal(0, OutputComparer.Cosine([0, 0], [1, 0]));
    }

    private static OutputTensor Labels(params string[] labels) =>
        OutputTensor.FromStrings("label", [labels.Length], [.. labels.Select(Encoding.UTF8.GetBytes)]);

    private static OutputTensor Scores(params float[] values) => OutputTensor.FromArray("scores", TensorDataType.Fp32, [values.Length / 2, 2], values);

    private static List<CapturedOutput> Capture(params OutputTensor[] tensors)
    {
        var captured = new List<CapturedOutput>();
        using var outputs = new ModelOutputs(tensors);
        CapturedOutput.AddAll(captured, outputs, checked((int)tensors[0].Shape[0]));
        return captured;
    }
}

using Serverless.Inference.Optimization;
using Serverless.Inference.Optimization.Calibration;
using Serverless.Inference.Tests.Optimization.Support;

namespace Serverless.Inference.Tests.Optimization;

/// <summary>
/// Calibration on a generated Conv model: the ranges ONNX Runtime's run gives equal the min/max worked out by hand,
/// and every way a calibration file can be wrong is refused with a message naming the problem.
/// </summary>
public sealed class CalibrationTests
{
    private static readonly float[][] Inputs =
    [
        [.. Enumerable.Range(0, 16).Select(i => -1.5f + (i * 0.2f))],
        [.. Enumerable.Range(0, 16).Select(i => (i % 5) * 0.75f)],
    ];

    [Fact]
    public void Collect_RangesAreTheMinAndMaxOfEachTensorOverTheRows()
    {
        using var folder = new OptimizationFolder(SmallConvModel.Build(13, batchNormalization: false));
        var calibration = folder.Calibration(Inputs.Select(x => OptimizationFolder.Row("x", x)));

        var ranges = ActivationCalibrator.Collect(folder.Model, ["x", "normalized"], folder.Request(calibration), CancellationToken.None);

        var outputs = Inputs.SelectMany(x => SmallConvModel.Convolve(x, SmallConvModel.Weights, SmallConvModel.Bias)).ToList();
        Assert.Equal(2, ranges.Rows);
        Assert.Equal(new ActivationRange(-1.5f, 3f), ranges.Ranges["x"]);
        Assert.Equal(outputs.Min(), ranges.Ranges["normalized"].Min, 5);
        Assert.Equal(outputs.Max(), ranges.Ranges["normalized"].Max, 5);
    }

    [Fact]
    public void Collect_ReadsAtMostTheAllowedRows()
    {
        using var folder = new OptimizationFolder(SmallConvModel.Build(13, batchNormalization: false));
        var calibration = folder.Calibration(Inputs.Select(x => OptimizationFolder.Row("x", x)));

        var ranges = ActivationCalibrator.Collect(folder.Model, ["x"], folder.Request(calibration, new RewriteOptions(CalibrationRows: 1)), CancellationToken.None);

        Assert.Equal(1, ranges.Rows);
        Assert.Equal(new ActivationRange(-1.5f, 1.5f), ranges.Ranges["x"]);
    }

    [Fact]
    public void Collect_EmptyFile_IsRefused()
    {
        using var folder = new OptimizationFolder(SmallConvModel.Build(13, batchNormalization: false));
        var calibration = folder.Calibration(["", "  "]);

        var error = Assert.Throws<OptimizationException>(() => Collect(folder, calibration));

        Assert.Equal("the calibration file calibration.jsonl has no rows", error.Message);
    }

    [Fact]
    public void Collect_MissingFile_IsRefused()
    {
        using var folder = new OptimizationFolder(SmallConvModel.Build(13, batchNormalization: false));

        var error = Assert.Throws<OptimizationException>(() => Collect(folder, folder.File("absent.jsonl")));

        Assert.Equal("the calibration file absent.jsonl does not exist", error.Message);
    }

    [Fact]
    public void Collect_MalformedLine_NamesTheLine()
    {
        using var folder = new OptimizationFolder(SmallConvModel.Build(13, batchNormalization: false));
        var calibration = folder.Calibration([OptimizationFolder.Row("x", Inputs[0]), "", """{"x": [1, 2,""" ]);

        var error = Assert.Throws<OptimizationException>(() => Collect(folder, calibration));

        Assert.StartsWith("calibration line 3", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Collect_RowOfTheWrongShape_NamesTheInputAndBothShapes()
    {
        using var folder = new OptimizationFolder(SmallConvModel.Build(13, batchNormalization: false));
        var calibration = folder.Calibration([OptimizationFolder.Row("x", Inputs[0]), """{"x": [[1, 2, 3], [4, 5, 6], [7, 8, 9]]}"""]);

        var error = Assert.Throws<OptimizationException>(() => Collect(folder, calibration));

        Assert.Equal("calibration line 2: input 'x' takes rows of shape [1,4,4]; this row's is [3,3]", error.Message);
    }

    [Fact]
    public void Collect_RowOfTheWrongType_NamesTheInput()
    {
        using var folder = new OptimizationFolder(SmallConvModel.Build(13, batchNormalization: false));
        var calibration = folder.Calibration([$$"""{"x": [{{string.Join(',', Enumerable.Repeat("\"a\"", 16))}}]}"""]);

        var error = Assert.Throws<OptimizationException>(() => Collect(folder, calibration));

        Assert.StartsWith("calibration line 1: ", error.Message, StringComparison.Ordinal);
        Assert.Contains("'x'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Collect_RowWithoutTheModelsInput_NamesWhatIsMissing()
    {
        using var folder = new OptimizationFolder(SmallConvModel.Build(13, batchNormalization: false));
        var calibration = folder.Calibration([OptimizationFolder.Row("image", Inputs[0])]);

        var error = Assert.Throws<OptimizationException>(() => Collect(folder, calibration));

        Assert.Equal("calibration line 1: missing input(s): x", error.Message);
    }

    private static ActivationRanges Collect(OptimizationFolder folder, string calibration) =>
        ActivationCalibrator.Collect(folder.Model, ["x"], folder.Request(calibration), CancellationToken.None);
}

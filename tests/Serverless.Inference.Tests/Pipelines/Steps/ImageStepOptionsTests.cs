using System.Text;
using Serverless.Inference.Pipelines.Steps;
using Serverless.Inference.Repository;
using Serverless.Inference.Runtime;
using Serverless.Inference.Tests.Pipelines.ImageSupport;

namespace Serverless.Inference.Tests.Pipelines.Steps;

/// <summary>The image step's options as model.json spells them, and the configurations it refuses at load time.</summary>
public sealed class ImageStepOptionsTests
{
    private static readonly ImageStep Valid = new("image", "x", Width: 4, Height: 2);

    [Fact]
    public void Parse_SnakeCaseOptions_FillEveryProperty()
    {
        var manifest = Parse("""
            { "type": "image", "input": "image", "output": "x", "width": 192, "height": 48, "resize": "nearest",
              "keep_aspect": true, "pad": "right", "pad_value": -1, "layout": "NHWC", "channels": "BGR",
              "scale": 0.5, "mean": [0.5], "std": [0.25, 0.5, 1], "max_pixels": 1000, "max_pixels_per_request": 5000 }
            """);

        var step = Assert.IsType<ImageStep>(Assert.Single(manifest.Pipeline!.Preprocess));
        Assert.Equal(("image", "x", 192, 48, "nearest"), (step.Input, step.Output, step.Width, step.Height, step.Resize));
        Assert.Equal((true, null, "right", -1f), (step.KeepAspect, step.Crop, step.Pad, step.PadValue));
        Assert.Equal(("NHWC", "BGR", 0.5f), (step.Layout, step.Channels, step.Scale));
        Assert.Equal((1000L, 5000L), (step.MaxPixels, step.MaxPixelsPerRequest));
        Assert.Equal([0.5f], step.Mean!);
        Assert.Equal([0.25f, 0.5f, 1f], step.Std!);
        Assert.Equal(["image"], step.Consumes);
        Assert.Equal(["x"], step.Produces);
    }

    [Fact]
    public void Parse_OnlyTheRequiredOptions_TakesTheDocumentedDefaults()
    {
        var manifest = Parse("""{ "type": "image", "input": "image", "output": "x", "width": 8, "height": 8 }""");

        var step = Assert.IsType<ImageStep>(Assert.Single(manifest.Pipeline!.Preprocess));
        Assert.Equal(("bilinear", false, "NCHW", "RGB", 1f), (step.Resize, step.KeepAspect, step.Layout, step.Channels, step.Scale));
        Assert.Equal((null, null, null, null), (step.Crop, step.Pad, step.Mean, step.Std));
        // Derived from the output size when the step is prepared (ImageStepLimitsTests).
        Assert.Null(step.MaxPixels);
        Assert.Null(step.MaxPixelsPerRequest);
    }

    [Fact]
    public void Parse_UnknownOption_IsRefused()
    {
        var error = Assert.Throws<InferenceException>(() => Parse("""{ "type": "image", "input": "image", "output": "x", "width": 8, "height": 8, "colour": "RGB" }"""));

        Assert.Equal(InferenceErrorKind.Unavailable, error.Kind);
        Assert.Contains("colour", error.Message, StringComparison.Ordinal);
    }

    // object: a public test cannot name an internal type in its parameters.
    public static TheoryData<object, string> BadOptions => new()
    {
        { Valid with { Width = 0 }, "width and height must be between 1 and 8192, not 0 x 2" },
        { Valid with { Height = 9000 }, "width and height must be between 1 and 8192" },
        { Valid with { Resize = "lanczos" }, "resize must be \"bilinear\", \"nearest\" or \"bicubic\", not \"lanczos\"" },
        { Valid with { Crop = "center" }, "they need keep_aspect true" },
        { Valid with { Pad = "right" }, "they need keep_aspect true" },
        { Valid with { KeepAspect = true, Crop = "center", Pad = "right" }, "cannot both apply" },
        { Valid with { KeepAspect = true, Crop = "top" }, "crop must be \"center\" or \"none\", not \"top\"" },
        { Valid with { KeepAspect = true, Pad = "left" }, "pad must be \"right\" or \"none\", not \"left\"" },
        { Valid with { Layout = "CHW" }, "layout must be \"NCHW\" or \"NHWC\", not \"CHW\"" },
        { Valid with { Channels = "RGBA" }, "channels must be \"RGB\" or \"BGR\", not \"RGBA\"" },
        { Valid with { Mean = [0.1f, 0.2f] }, "mean takes 1 or 3 values, not 2" },
        { Valid with { Std = [1, 0, 1] }, "std finite and not 0" },
        { Valid with { Scale = float.NaN }, "scale, pad_value and mean must be finite" },
        { Valid with { MaxPixels = 0 }, "max_pixels must be at least 1" },
        { Valid with { MaxPixelsPerRequest = 0 }, "max_pixels_per_request must be at least 1" },
        { Valid with { Output = "" }, "input and output are required" },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void Create_BadOptions_FailTheLoadWithTheProblem(object step, string problem)
    {
        StepHarness.AssertFails(InferenceErrorKind.Unavailable, () => StepHarness.Prepare((ImageStep)step), "image step", problem);
    }

    [Theory]
    [InlineData("NCHW", new long[] { -1, 3, 2, 4 }, new long[] { 1, 3, 2, 4 })]
    [InlineData("NCHW", new long[] { 1, 3, -1, -1 }, new long[] { 1, 3, 2, 4 })]
    [InlineData("NHWC", new long[] { -1, 2, 4, 3 }, new long[] { 1, 2, 4, 3 })]
    public void Create_ModelInputThatAgrees_PreparesAStepThatFillsThatShape(string layout, long[] shape, long[] produced)
    {
        var model = new ModelSignature([new TensorSpec("x", TensorDataType.Fp32, shape)], []);

        var operation = StepHarness.Prepare(Valid with { Layout = layout }, model);
        var output = StepHarness.Apply(operation, StepHarness.Images("image", TestImages.Png(2, 2, (10, 20, 30), (40, 50, 60), (70, 80, 90), (100, 110, 120)))).Get("x");

        Assert.Equal(produced, output.Shape);
    }

    [Theory]
    [InlineData(TensorDataType.Fp32, new long[] { -1, 3, 4, 2 })]
    [InlineData(TensorDataType.Fp32, new long[] { -1, 2, 4, 3 })]
    [InlineData(TensorDataType.Fp32, new long[] { -1, 3, 8 })]
    [InlineData(TensorDataType.Fp16, new long[] { -1, 3, 2, 4 })]
    public void Create_ModelInputThatDisagrees_FailsTheLoad(TensorDataType type, long[] shape)
    {
        var model = new ModelSignature([new TensorSpec("x", type, shape)], []);

        StepHarness.AssertFails(
            InferenceErrorKind.Unavailable,
            () => StepHarness.Prepare(Valid, model),
            "image step 'x': the model input is x",
            "but the step writes FP32[N,3,2,4] (NCHW, 4 x 2)");
    }

    private static ModelManifest Parse(string step)
    {
        var json = $$"""
            { "pipeline": { "inputs": [{ "name": "image", "datatype": "BYTES", "shape": [-1] }], "preprocess": [{{step}}],
              "outputs": [{ "name": "x", "datatype": "FP32", "shape": [-1, 3, 8, 8] }] } }
            """;
        return ModelManifest.Parse(Encoding.UTF8.GetBytes(json), "test/model.json");
    }
}

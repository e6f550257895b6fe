using Serverless.Inference.Pipelines.Steps;
using Serverless.Inference.Tests.Pipelines.ImageSupport;

namespace Serverless.Inference.Tests.Pipelines.Steps;

/// <summary>
/// The image step's pixel limits: per element, by default near what the output size needs, and per request, over
/// every element's header before any is decoded.
/// </summary>
public sealed class ImageStepLimitsTests
{
    // ppocr-cls's output: 192 x 48, 64 times which is below the floor.
    private static readonly ImageStep TextLine = new("image", "x", Width: 192, Height: 48, KeepAspect: true, Pad: "right");

    [Theory]
    [InlineData(4, 4, 4_194_304)]
    [InlineData(192, 48, 4_194_304)]
    [InlineData(320, 320, 6_553_600)]
    [InlineData(512, 512, 16_777_216)]
    [InlineData(1024, 1024, 40_000_000)]
    [InlineData(8192, 8192, 40_000_000)]
    public void DefaultMaxPixels_Is64TimesTheOutputBetweenTheFloorAndTheCap(int width, int height, long expected)
    {
        Assert.Equal(expected, ImageStep.DefaultMaxPixels(width, height));
    }

    [Fact]
    public void Apply_TinyPngDeclaringAHugeImage_IsRefusedUnderTheDefaultForTheOutputSize()
    {
        // 69 bytes that declare 6324 x 6324, 40 M pixels: within a single 40 M limit, it would be decoded (120 MB)
        // and scored for a 192 x 48 input.
        var file = TestImages.PngHeaderOnly(6324, 6324);
        Assert.True(file.Length < 100, $"the crafted file is {file.Length} bytes");

        StepHarness.AssertFails(
            InferenceErrorKind.BadRequest,
            () => StepHarness.Run(TextLine, "x", StepHarness.Images("image", file)),
            "element 0 is a 6324 x 6324 image: more than the 4194304 pixels this model accepts");
    }

    [Fact]
    public void Apply_TinyPngDeclaringAHugeImage_TakesNoPixelMemory()
    {
        var allocator = new CountingAllocator();

        Assert.Throws<InferenceException>(() => StepHarness.Run(TextLine with { Allocator = allocator }, "x", StepHarness.Images("image", TestImages.PngHeaderOnly(6324, 6324))));

        Assert.True(allocator.Bytes < 1024, $"refusing took {allocator.Bytes} bytes of ImageSharp's memory");
    }

    [Fact]
    public void Apply_ExplicitMaxPixelsAboveTheDefault_IsTheOwnersChoice()
    {
        var image = TestImages.Solid(2200, 2000, 10, 20, 30);

        StepHarness.AssertFails(
            InferenceErrorKind.BadRequest,
            () => StepHarness.Run(TextLine, "x", StepHarness.Images("image", image)),
            "element 0 is a 2200 x 2000 image: more than the 4194304 pixels");
        var output = StepHarness.Run(TextLine with { MaxPixels = 5_000_000 }, "x", StepHarness.Images("image", image));
        Assert.Equal([1L, 3, 48, 192], output.Shape);
    }

    [Fact]
    public void Apply_ImagesOverTheRequestBudgetTogether_AreRefusedAsAWholeWithA413()
    {
        // 64 elements of 2048 x 2048, each at the default per-element limit, 1 MB in all: 268 M pixels to decode.
        var file = TestImages.Solid(2048, 2048, 200, 200, 200);

        StepHarness.AssertFails(
            InferenceErrorKind.PayloadTooLarge,
            () => StepHarness.Run(TextLine, "x", StepHarness.Images("image", [.. Enumerable.Repeat(file, 64)])),
            "the 64 image(s) of this request declare 268435456 pixels in all: more than the 16777216 pixels this model decodes for one request");
    }

    [Fact]
    public void Apply_ImagesOverTheRequestBudget_AreRefusedBeforeAnyIsDecoded()
    {
        // Real, whole images: decoded before the budget check, they would take 30 KB of pixels each.
        var allocator = new CountingAllocator();
        var step = TextLine with { MaxPixels = 10_000, MaxPixelsPerRequest = 25_000, Allocator = allocator };
        var image = TestImages.Solid(100, 100, 1, 2, 3);

        StepHarness.AssertFails(
            InferenceErrorKind.PayloadTooLarge,
            () => StepHarness.Run(step, "x", StepHarness.Images("image", image, image, image)),
            "the 3 image(s) of this request declare 30000 pixels in all: more than the 25000 pixels");
        Assert.True(allocator.Bytes < 1024, $"refusing took {allocator.Bytes} bytes of ImageSharp's memory");
        Assert.Equal([2L, 3, 48, 192], StepHarness.Run(step, "x", StepHarness.Images("image", image, image)).Shape);
    }

    [Fact]
    public void Apply_DefaultRequestBudget_IsFourTimesMaxPixels()
    {
        var operation = StepHarness.Prepare(TextLine with { MaxPixels = 100 });
        var image = TestImages.Solid(10, 10, 1, 2, 3);

        Assert.Equal([4L, 3, 48, 192], StepHarness.Apply(operation, StepHarness.Images("image", image, image, image, image)).Get("x").Shape);
        StepHarness.AssertFails(
            InferenceErrorKind.PayloadTooLarge,
            () => StepHarness.Apply(operation, StepHarness.Images("image", image, image, image, image, image)),
            "declare 500 pixels in all: more than the 400 pixels");
    }

    [Fact]
    public void Apply_ElementOverMaxPixelsInARequestOverTheBudget_IsNamedFirst()
    {
        var step = TextLine with { MaxPixels = 100, MaxPixelsPerRequest = 150 };
        var small = TestImages.Solid(10, 10, 1, 2, 3);

        StepHarness.AssertFails(
            InferenceErrorKind.BadRequest,
            () => StepHarness.Run(step, "x", StepHarness.Images("image", small, small, TestImages.Solid(11, 10, 1, 2, 3))),
            "element 2 is a 11 x 10 image: more than the 100 pixels");
    }

    [Fact]
    public void Apply_TruncatedLastElement_IsRefusedBeforeAnyElementIsDecoded()
    {
        var allocator = new CountingAllocator();
        var png = TestImages.Solid(100, 100, 1, 2, 3);

        StepHarness.AssertFails(
            InferenceErrorKind.BadRequest,
            () => StepHarness.Run(TextLine with { Allocator = allocator }, "x", StepHarness.Images("image", png, png, png[..^12])),
            "element 2 is truncated: the PNG ends at byte");
        Assert.True(allocator.Bytes < 1024, $"refusing took {allocator.Bytes} bytes of ImageSharp's memory");
    }
}

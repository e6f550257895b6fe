using System.Text;
using Serverless.Inference.Pipelines;
using Serverless.Inference.Pipelines.Steps;
using Serverless.Inference.Tests.Pipelines.ImageSupport;

namespace Serverless.Inference.Tests.Pipelines.Steps;

/// <summary>What the image step refuses from a caller: not images, oversized headers, wrong shapes. All are 400s.</summary>
public sealed class ImageStepInputTests
{
    private static readonly ImageStep Step = new("image", "x", Width: 4, Height: 4);

    [Theory]
    [InlineData("hello, not an image")]
    [InlineData("")]
    [InlineData("aGVsbG8sIG5vdCBhbiBpbWFnZQ==")]
    [InlineData("data:image/png;base64,aGVsbG8=")]
    public void Apply_NotAnImage_IsABadRequestNamingTheElement(string element)
    {
        var good = TestImages.Solid(2, 2, 1, 2, 3);
        var operation = StepHarness.Prepare(Step);

        StepHarness.AssertFails(
            InferenceErrorKind.BadRequest,
            () => StepHarness.Apply(operation, StepHarness.Images("image", good, Encoding.UTF8.GetBytes(element))),
            "element 1 is not an image ImageSharp can read:",
            "PNG");
    }

    [Fact]
    public void Apply_TruncatedPng_IsABadRequestNamingTheElement()
    {
        var png = TestImages.Solid(8, 8, 1, 2, 3);

        StepHarness.AssertFails(
            InferenceErrorKind.BadRequest,
            () => StepHarness.Run(Step, "x", StepHarness.Images("image", png[..(png.Length - 20)])),
            "element 0 is not an image ImageSharp can read:");
    }

    [Fact]
    public void Apply_HugePngHeader_IsRefusedBeforeItsPixelsAreAllocated()
    {
        var header = TestImages.PngHeaderOnly(20_000, 20_000);
        Assert.True(header.Length < 200, $"the crafted file is {header.Length} bytes");
        var info = SixLabors.ImageSharp.Image.Identify(header);
        Assert.Equal((20_000, 20_000), (info.Width, info.Height));
        var operation = StepHarness.Prepare(Step);
        var input = StepHarness.Images("image", header);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var error = Assert.Throws<InferenceException>(() => StepHarness.Apply(operation, input));
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(InferenceErrorKind.BadRequest, error.Kind);
        Assert.Equal("element 0 is a 20000 x 20000 image: more than the 4194304 pixels this model accepts", error.Message);
        // Decoding would need 20000 x 20000 x 3 = 1.2 GB of pixels; the refusal costs a few kilobytes.
        Assert.True(allocated < 1_000_000, $"{allocated} bytes allocated while refusing");
    }

    [Fact]
    public void Read_HugePngHeader_TakesNoPixelMemoryFromImageSharp()
    {
        // GC counters miss ImageSharp's unmanaged pixel buffers, so count what its allocator hands out. The control:
        // a whole PNG of 2000 x 2000 under a limit it meets is decoded, and takes its 12 MB of pixels.
        var refused = new CountingAllocator();
        var decoded = new CountingAllocator();

        var error = Assert.Throws<InferenceException>(() => new ImageElementReader(ImageStep.MaxPixelsCap, refused).Read(TestImages.PngHeaderOnly(20_000, 20_000), 0));
        using (var image = new ImageElementReader(ImageStep.MaxPixelsCap, decoded).Read(TestImages.Solid(2_000, 2_000, 1, 2, 3), 0))
        {
            Assert.Equal((2_000, 2_000), (image.Width, image.Height));
        }

        Assert.Equal(InferenceErrorKind.BadRequest, error.Kind);
        Assert.True(refused.Largest < 64 * 1024, $"refusing took a {refused.Largest}-byte buffer");
        Assert.True(refused.Bytes < 1024 * 1024, $"refusing took {refused.Bytes} bytes in all");
        Assert.True(decoded.Bytes >= 2_000 * 2_000 * 3, $"decoding took only {decoded.Bytes} bytes: the counter misses pixel buffers");
    }

    [Fact]
    public void Apply_MaxPixels_RefusesARealImageOverTheLimitAndTakesOneAtIt()
    {
        var operation = StepHarness.Prepare(Step with { MaxPixels = 100 });

        var ok = StepHarness.Apply(operation, StepHarness.Images("image", TestImages.Solid(10, 10, 1, 2, 3))).Get("x");
        Assert.Equal(1f, ok.AsSpan<float>()[0]);
        StepHarness.AssertFails(
            InferenceErrorKind.BadRequest,
            () => StepHarness.Apply(operation, StepHarness.Images("image", TestImages.Solid(11, 10, 1, 2, 3))),
            "element 0 is a 11 x 10 image: more than the 100 pixels");
    }

    [Fact]
    public void Apply_NotOneImagePerRow_IsABadRequest()
    {
        var png = TestImages.Solid(2, 2, 1, 2, 3);

        StepHarness.AssertFails(
            InferenceErrorKind.BadRequest,
            () => StepHarness.Run(Step, "x", PipelineTensor.Texts("image", [1, 2], [png, png])),
            "input 'image' must hold one image per row, [N] or [N,1], not [1,2]");
    }

    [Fact]
    public void Apply_NumbersInsteadOfBytes_IsAPipelineMistake()
    {
        StepHarness.AssertFails(
            InferenceErrorKind.Internal,
            () => StepHarness.Run(Step, "x", StepHarness.Floats("image", [1], 1f)),
            "reads a BYTES tensor");
    }

    [Fact]
    public void Apply_CancelledRequest_StopsBeforeDecoding()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        var run = new PipelineRun(cancelled.Token);
        run.Set(StepHarness.Images("image", TestImages.Solid(2, 2, 1, 2, 3)));

        Assert.Throws<OperationCanceledException>(() => StepHarness.Prepare(Step).Apply(run));
        Assert.False(run.TryGet("x", out _));
    }
}

using Serverless.Inference.Pipelines;
using Serverless.Inference.Pipelines.Steps;
using Serverless.Inference.Runtime;
using Serverless.Inference.Tests.Pipelines.ImageSupport;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Tga;
using SixLabors.ImageSharp.Formats.Tiff;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.PixelFormats;

namespace Serverless.Inference.Tests.Pipelines.Steps;

/// <summary>The image step's tensors against values computed by hand on tiny generated images.</summary>
public sealed class ImageStepTests
{
    private const float Exact = 1e-6f;

    // 2 x 2 RGB, row by row: each channel value differs, so every position and channel can be told apart.
    private static readonly byte[] TwoByTwo = TestImages.Png(2, 2, (10, 20, 30), (40, 50, 60), (70, 80, 90), (100, 110, 120));

    [Fact]
    public void Apply_NearestUpscaleNchwRgb_RepeatsEachPixelIntoA2x2Block()
    {
        var step = new ImageStep("image", "x", Width: 4, Height: 4, Resize: "nearest");

        var output = StepHarness.Run(step, "x", StepHarness.Images("image", TwoByTwo));

        Assert.Equal(TensorDataType.Fp32, output.DataType);
        Assert.Equal([1L, 3, 4, 4], output.Shape);
        float[] red =
        [
            10, 10, 40, 40,
            10, 10, 40, 40,
            70, 70, 100, 100,
            70, 70, 100, 100,
        ];
        AssertValues([.. red, .. red.Select(v => v + 10), .. red.Select(v => v + 20)], output);
    }

    [Fact]
    public void Apply_BilinearUpscale2To4_InterpolatesBetweenPixelCentres()
    {
        // Enlarging 2 -> 4 columns, output column x samples the source at (x + 0.5) * 2/4 - 0.5 = -0.25, 0.25, 0.75, 1.25;
        // the triangle (bilinear) filter weighs the two nearest source pixels by 1 - distance, and a position outside
        // [0, 1] takes the edge pixel: [p0, 0.75 p0 + 0.25 p1, 0.25 p0 + 0.75 p1, p1]. With p0 = 0 and
        // p1 = (200, 100, 40): R 0 50 150 200, G 0 25 75 100, B 0 10 30 40. The single row is not resampled.
        var image = TestImages.Png(2, 1, (0, 0, 0), (200, 100, 40));
        var step = new ImageStep("image", "x", Width: 4, Height: 1);

        var output = StepHarness.Run(step, "x", StepHarness.Images("image", image));

        Assert.Equal([1L, 3, 1, 4], output.Shape);
        AssertValues([0, 50, 150, 200, 0, 25, 75, 100, 0, 10, 30, 40], output);
    }

    [Fact]
    public void Apply_BicubicAtTheSameSize_LeavesPixelsAsTheyAre()
    {
        var step = new ImageStep("image", "x", Width: 2, Height: 2, Resize: "bicubic");

        var output = StepHarness.Run(step, "x", StepHarness.Images("image", TwoByTwo));

        AssertValues([10, 40, 70, 100, 20, 50, 80, 110, 30, 60, 90, 120], output);
    }

    [Fact]
    public void Apply_Nhwc_InterleavesChannelsPerPixel()
    {
        var step = new ImageStep("image", "x", Width: 2, Height: 2, Layout: "NHWC");

        var output = StepHarness.Run(step, "x", StepHarness.Images("image", TwoByTwo));

        Assert.Equal([1L, 2, 2, 3], output.Shape);
        AssertValues([10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120], output);
    }

    [Theory]
    [InlineData("NCHW", new float[] { 30, 60, 90, 120, 20, 50, 80, 110, 10, 40, 70, 100 })]
    [InlineData("NHWC", new float[] { 30, 20, 10, 60, 50, 40, 90, 80, 70, 120, 110, 100 })]
    public void Apply_Bgr_PutsBlueFirst(string layout, float[] expected)
    {
        var step = new ImageStep("image", "x", Width: 2, Height: 2, Layout: layout, Channels: "BGR");

        var output = StepHarness.Run(step, "x", StepHarness.Images("image", TwoByTwo));

        AssertValues(expected, output);
    }

    [Fact]
    public void Apply_ScaleMeanStd_ComputesPerChannelNormalisation()
    {
        var image = TestImages.Png(1, 1, (51, 102, 255));
        var step = new ImageStep("image", "x", Width: 1, Height: 1, Scale: 1f / 255, Mean: [0.485f, 0.456f, 0.406f], Std: [0.229f, 0.224f, 0.225f]);

        var output = StepHarness.Run(step, "x", StepHarness.Images("image", image));

        // (v / 255 - mean) / std: (0.2 - 0.485) / 0.229, (0.4 - 0.456) / 0.224, (1 - 0.406) / 0.225.
        Assert.Equal(-1.2445415, output.AsSpan<float>()[0], 5);
        Assert.Equal(-0.25, output.AsSpan<float>()[1], 5);
        Assert.Equal(2.64, output.AsSpan<float>()[2], 5);
    }

    [Fact]
    public void Apply_MeanAndStdWithBgr_FollowTheOutputChannelOrder()
    {
        var image = TestImages.Png(1, 1, (10, 20, 30));
        var step = new ImageStep("image", "x", Width: 1, Height: 1, Channels: "BGR", Scale: 2, Mean: [1, 2, 3], Std: [2, 4, 8]);

        var output = StepHarness.Run(step, "x", StepHarness.Images("image", image));

        // Channel 0 is blue: (30 * 2 - 1) / 2; channel 1 green: (20 * 2 - 2) / 4; channel 2 red: (10 * 2 - 3) / 8.
        AssertValues([29.5f, 9.5f, 2.125f], output);
    }

    [Fact]
    public void Apply_OneMeanAndStd_ApplyToEveryChannel()
    {
        var image = TestImages.Png(1, 1, (0, 255, 51));
        var step = new ImageStep("image", "x", Width: 1, Height: 1, Scale: 1f / 255, Mean: [0.5f], Std: [0.5f]);

        var output = StepHarness.Run(step, "x", StepHarness.Images("image", image));

        AssertValues([-1, 1, -0.6f], output, 1e-6f);
    }

    [Fact]
    public void Apply_Base64AndDataUriElements_DecodeLikeTheRawFile()
    {
        var step = new ImageStep("image", "x", Width: 3, Height: 3, Resize: "nearest");
        var base64 = Convert.ToBase64String(TwoByTwo);
        var wrapped = string.Join("\r\n", base64.Chunk(16).Select(chunk => new string(chunk)));

        var output = StepHarness.Run(step, "x", StepHarness.Images(
            "image",
            TwoByTwo,
            TestImages.Base64(TwoByTwo),
            System.Text.Encoding.ASCII.GetBytes("data:image/png;base64," + base64),
            System.Text.Encoding.ASCII.GetBytes(wrapped)));

        Assert.Equal([4L, 3, 3, 3], output.Shape);
        var all = output.AsSpan<float>().ToArray();
        var first = all[..27];
        Assert.Equal(10f, first[0]);
        Assert.Equal(first, all[27..54]);
        Assert.Equal(first, all[54..81]);
        Assert.Equal(first, all[81..]);
    }

    [Fact]
    public void Apply_ColumnShapeAndImagesOfDifferentSizes_ResizesEachIntoItsRow()
    {
        var step = new ImageStep("image", "x", Width: 2, Height: 1, Resize: "nearest");
        byte[][] files = [TestImages.Solid(5, 3, 1, 2, 3), TestImages.Solid(1, 7, 4, 5, 6)];

        var output = StepHarness.Run(step, "x", PipelineTensor.Texts("image", [2, 1], files));

        Assert.Equal([2L, 3, 1, 2], output.Shape);
        AssertValues([1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6], output);
    }

    [Fact]
    public void Apply_KeepAspectCropCenter_CutsTheOverflowFromBothSides()
    {
        // 4 x 2 with columns of grey 10, 20, 30, 40 into 2 x 2: the height already fits, so nothing is scaled and
        // the middle two columns remain.
        byte[] Grey(byte v) => [v, v, v];
        var columns = new[] { Grey(10), Grey(20), Grey(30), Grey(40) };
        var image = TestImages.Png(4, 2, [.. Enumerable.Range(0, 8).Select(i => (columns[i % 4][0], columns[i % 4][1], columns[i % 4][2]))]);
        var step = new ImageStep("image", "x", Width: 2, Height: 2, Resize: "nearest", KeepAspect: true, Crop: "center");

        var output = StepHarness.Run(step, "x", StepHarness.Images("image", image));

        AssertValues([.. Enumerable.Repeat<float[]>([20, 30, 20, 30], 3).SelectMany(v => v)], output);
    }

    [Fact]
    public void Apply_KeepAspectCropCenterOnATallImage_ScalesTheShorterSideToFit()
    {
        // 2 x 8 into 4 x 4: the width (the shorter side relative to the target) scales 2 -> 4, the height 8 -> 16,
        // and rows 6..9 of the 16 remain: source rows 3 and 4 (nearest), which are grey 30 and 40.
        byte[] rows = [0, 10, 20, 30, 40, 50, 60, 70];
        var image = TestImages.Png(2, 8, [.. Enumerable.Range(0, 16).Select(i => (rows[i / 2], rows[i / 2], rows[i / 2]))]);
        var step = new ImageStep("image", "x", Width: 4, Height: 4, Resize: "nearest", KeepAspect: true);

        var output = StepHarness.Run(step, "x", StepHarness.Images("image", image));

        float[] plane = [30, 30, 30, 30, 30, 30, 30, 30, 40, 40, 40, 40, 40, 40, 40, 40];
        AssertValues([.. plane, .. plane, .. plane], output);
    }

    [Fact]
    public void Apply_PadRight_ScalesToTheHeightAndFillsTheRestWithThePadValue()
    {
        // PaddleOCR's resize: 2 x 1 to height 2 keeps the ratio 2:1, so ceil(2 x 2 / 1) = 4 columns of 8; columns 4..7 pad.
        var image = TestImages.Png(2, 1, (200, 0, 0), (0, 0, 100));
        var step = new ImageStep("image", "x", Width: 8, Height: 2, Resize: "nearest", KeepAspect: true, Pad: "right", PadValue: -1);

        var output = StepHarness.Run(step, "x", StepHarness.Images("image", image));

        Assert.Equal([1L, 3, 2, 8], output.Shape);
        float[] red = [200, 200, 0, 0, -1, -1, -1, -1];
        float[] green = [0, 0, 0, 0, -1, -1, -1, -1];
        float[] blue = [0, 0, 100, 100, -1, -1, -1, -1];
        AssertValues([.. red, .. red, .. green, .. green, .. blue, .. blue], output);
    }

    [Fact]
    public void Apply_PadRightOnAnImageWiderThanTheTarget_SqueezesItToTheWidth()
    {
        // 16 x 1 at height 2 would be 32 columns: more than 8, so it is squeezed to 8 x 2 and nothing is padded.
        var image = TestImages.Png(16, 1, [.. Enumerable.Range(0, 16).Select(i => ((byte)(i * 10), (byte)0, (byte)0))]);
        var step = new ImageStep("image", "x", Width: 8, Height: 2, Resize: "nearest", KeepAspect: true, Pad: "right", PadValue: -1, Layout: "NHWC");

        var output = StepHarness.Run(step, "x", StepHarness.Images("image", image));

        var values = output.AsSpan<float>().ToArray();
        Assert.DoesNotContain(-1f, values);
        var firstRowRed = Enumerable.Range(0, 8).Select(x => values[x * 3]).ToArray();
        Assert.Equal([0f, 20, 40, 60, 80, 100, 120, 140], firstRowRed);
    }

    [Fact]
    public void Apply_Jpeg_DecodesWithinJpegLoss()
    {
        var step = new ImageStep("image", "x", Width: 4, Height: 4);

        var output = StepHarness.Run(step, "x", StepHarness.Images("image", TestImages.SolidJpeg(16, 16, 200, 100, 50)));

        var values = output.AsSpan<float>().ToArray();
        Assert.All(values[..16], v => Assert.InRange(v, 196, 204));
        Assert.All(values[16..32], v => Assert.InRange(v, 96, 104));
        Assert.All(values[32..], v => Assert.InRange(v, 46, 54));
    }

    [Fact]
    public void Apply_GreyscaleAndTransparentPngs_GiveRgbWithAlphaDropped()
    {
        using var grey = new Image<L8>(1, 1, new L8(77));
        using var transparent = new Image<Rgba32>(1, 1, new Rgba32(10, 20, 30, 0));
        var step = new ImageStep("image", "x", Width: 1, Height: 1);

        var output = StepHarness.Run(step, "x", StepHarness.Images(
            "image",
            TestImages.Encode(grey, new SixLabors.ImageSharp.Formats.Png.PngEncoder()),
            TestImages.Encode(transparent, new SixLabors.ImageSharp.Formats.Png.PngEncoder())));

        AssertValues([77, 77, 77, 10, 20, 30], output);
    }

    public static TheoryData<string> OtherFormats => ["bmp", "gif", "tga", "tiff", "webp"];

    [Theory]
    [MemberData(nameof(OtherFormats))]
    public void Apply_OtherFormatsImageSharpDecodes_GiveThePixels(string format)
    {
        IImageEncoder encoder = format switch
        {
            "bmp" => new BmpEncoder(),
            "gif" => new GifEncoder(),
            "tga" => new TgaEncoder(),
            "tiff" => new TiffEncoder(),
            _ => new WebpEncoder { FileFormat = WebpFileFormatType.Lossless },
        };
        using var image = new Image<Rgb24>(3, 2, new Rgb24(255, 0, 0));
        image[2, 1] = new Rgb24(0, 0, 255);
        var step = new ImageStep("image", "x", Width: 3, Height: 2, Layout: "NHWC");

        var output = StepHarness.Run(step, "x", StepHarness.Images("image", TestImages.Encode(image, encoder)));

        var values = output.AsSpan<float>().ToArray();
        Assert.Equal([255f, 0, 0], values[..3]);
        Assert.Equal([0f, 0, 255], values[15..]);
    }

    [Fact]
    public void Apply_EmptyBatch_GivesAnEmptyTensor()
    {
        var step = new ImageStep("image", "x", Width: 4, Height: 2);

        var output = StepHarness.Run(step, "x", StepHarness.Images("image"));

        Assert.Equal([0L, 3, 2, 4], output.Shape);
        Assert.Equal(0, output.ElementCount);
    }

    private static void AssertValues(float[] expected, PipelineTensor actual, float tolerance = Exact)
    {
        var values = actual.AsSpan<float>().ToArray();
        Assert.True(expected.Length == values.Length, $"expected {expected.Length} values, got {values.Length}: {string.Join(", ", values)}");
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - values[i]) <= tolerance, $"value {i}: expected {expected[i]}, got {values[i]} (all: {string.Join(", ", values)})");
        }
    }
}

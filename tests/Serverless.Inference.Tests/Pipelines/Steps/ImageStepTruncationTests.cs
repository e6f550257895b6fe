using Serverless.Inference.Pipelines.Steps;
using Serverless.Inference.Tests.Pipelines.ImageSupport;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Pbm;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Tga;
using SixLabors.ImageSharp.Formats.Tiff;
using SixLabors.ImageSharp.Formats.Webp;

namespace Serverless.Inference.Tests.Pipelines.Steps;

/// <summary>
/// Image files cut short are refused with a 400 naming the element, not decoded with their missing rows black
/// (ImageSharp 2 decodes most of them without complaint); whole files, and bytes after the end, still decode.
/// </summary>
public sealed class ImageStepTruncationTests
{
    private static readonly ImageStep Step = new("image", "x", Width: 4, Height: 4);

    private static readonly byte[] Png = TestImages.NoiseFile(new PngEncoder());

    private static readonly byte[] Jpeg = TestImages.NoiseFile(new JpegEncoder { Quality = 90 });

    public static TheoryData<string, string, string> CutFiles => new()
    {
        { "png without IEND", "PNG", "before its IEND chunk" },
        { "png cut after its first IDAT chunk", "PNG", "before its IEND chunk" },
        { "png cut inside IDAT", "PNG", "inside its 'IDAT' chunk, which ends at byte" },
        { "jpeg without EOI", "JPEG", "before its EOI marker" },
        { "jpeg cut in its scan", "JPEG", "before its EOI marker" },
        { "jpeg cut in a segment after its scan", "JPEG", "inside a segment (marker 0xFE)" },
        { "gif without trailer", "GIF", "before its trailer" },
        { "gif cut in its image data", "GIF", "before its trailer" },
        { "webp lossless cut", "WebP", "its RIFF header declares" },
        { "webp lossy cut", "WebP", "its RIFF header declares" },
        { "bmp cut", "BMP", "its pixels end at byte" },
        { "pbm cut", "PBM", "its pixels end at byte" },
        { "tga cut", "TGA", "its pixels end at byte" },
        { "tga rle cut", "TGA", "of its 3072 pixels" },
        { "tiff directory first cut", "TIFF", "its pixels end at byte" },
    };

    [Theory]
    [MemberData(nameof(CutFiles))]
    public void Apply_CutFile_IsABadRequestNamingTheElement(string file, string format, string problem)
    {
        var operation = StepHarness.Prepare(Step);
        var cut = Cut(file);

        StepHarness.AssertFails(
            InferenceErrorKind.BadRequest,
            () => StepHarness.Apply(operation, StepHarness.Images("image", TestImages.Solid(2, 2, 1, 2, 3), cut)),
            $"element 1 is truncated: the {format} ends at byte {cut.Length}",
            problem);
    }

    public static TheoryData<string> WholeFiles =>
        ["png", "png interlaced", "jpeg", "gif", "webp lossless", "webp lossy", "bmp", "pbm", "pbm plain", "tga", "tga rle", "tiff", "tiff directory first"];

    [Theory]
    [MemberData(nameof(WholeFiles))]
    public void Apply_WholeFile_Decodes(string format)
    {
        var output = StepHarness.Run(Step, "x", StepHarness.Images("image", Whole(format)));

        Assert.Equal([1L, 3, 4, 4], output.Shape);
    }

    [Fact]
    public void Apply_BytesAfterTheEnd_AreIgnored()
    {
        byte[] trailer = [0, 0, 0xFF, 0xD8, 1, 2, 3];

        var output = StepHarness.Run(Step, "x", StepHarness.Images("image", [.. Png, .. trailer], [.. Jpeg, .. trailer]));

        Assert.Equal([2L, 3, 4, 4], output.Shape);
    }

    [Fact]
    public void Apply_JpegCutShortWithAnEoiInsideASegment_IsStillTruncated()
    {
        // An APP1 segment right after SOI that holds an EOI marker, as an EXIF thumbnail does: a search for FF D9
        // would find it, the walk over segments does not stop there.
        byte[] payload = [.. "Exif\0\0"u8, 0xFF, 0xD8, 0xFF, 0xD9];
        byte[] withSegment = [0xFF, 0xD8, 0xFF, 0xE1, 0, (byte)(payload.Length + 2), .. payload, .. Jpeg[2..]];

        var whole = StepHarness.Run(Step, "x", StepHarness.Images("image", withSegment));
        Assert.Equal([1L, 3, 4, 4], whole.Shape);
        StepHarness.AssertFails(
            InferenceErrorKind.BadRequest,
            () => StepHarness.Run(Step, "x", StepHarness.Images("image", withSegment[..(withSegment.Length * 2 / 3)])),
            "element 0 is truncated: the JPEG ends at byte");
    }

    [Theory]
    [InlineData(false, 12_002_000)]
    [InlineData(true, 12_003_750)]
    public void Read_PngWithTooLittleDataForItsRows_IsTruncatedBeforeAnyPixelIsAllocated(bool interlaced, long rowBytes)
    {
        // 2000 x 2000 RGB: 2000 rows of a filter byte and 6000 bytes; Adam7's seven passes add a filter byte to each
        // of their rows (250 + 250 + 250 + 500 + 500 + 1000 + 1000 rows, 1750 more bytes). The file's data inflates
        // to 64 bytes.
        var allocator = new CountingAllocator();
        var reader = new ImageElementReader(ImageStep.MaxPixelsCap, allocator);

        var error = Assert.Throws<InferenceException>(() => reader.Read(TestImages.PngHeaderOnly(2_000, 2_000, interlaced), 0));

        Assert.Equal(InferenceErrorKind.BadRequest, error.Kind);
        Assert.Equal($"element 0 is truncated: the PNG's image data inflates to 64 of the {rowBytes} bytes of rows its header declares", error.Message);
        Assert.True(allocator.Bytes < 1024, $"refusing took {allocator.Bytes} bytes of ImageSharp's memory");
    }

    [Fact]
    public async Task Apply_InterlacedPngWithItsDataCut_IsRefusedInsteadOfDecodedForever()
    {
        // A real interlaced PNG of 300 x 300 noise with only its first IDAT chunk, then IEND: every chunk is whole.
        // ImageSharp 2.1.13 never returns from decoding it (nor from a 16 x 16 one with short data), cancelled or not.
        using var noise = TestImages.Noise(300, 300);
        var png = TestImages.Encode(noise, new PngEncoder { InterlaceMethod = PngInterlaceMode.Adam7 });
        var chunks = TestImages.PngChunks(png);
        var firstData = chunks.First(c => c.Type == "IDAT").End;
        Assert.True(chunks.Count(c => c.Type == "IDAT") > 1, "the noise PNG has one IDAT chunk");
        byte[] cut = [.. png[..firstData], .. png[^12..]];

        var refusal = Task.Run(() => StepHarness.AssertFails(
            InferenceErrorKind.BadRequest,
            () => StepHarness.Run(Step, "x", StepHarness.Images("image", cut)),
            "element 0 is truncated: the PNG's image data inflates to "));

        // On a regression this fails after 30 s (TimeoutException), leaving the decoder's thread spinning.
        await refusal.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Apply_InterlacedPngWithShortDataAndAZlibHeaderImageSharpDoesNotCheck_IsRefused()
    {
        // The data is counted as ImageSharp reads it: a check that refused the header as invalid zlib, and so left
        // the file to the decoder, would let this 16 x 16 file spin a thread forever. Its rows: Adam7's passes of
        // 2, 2, 4, 4, 8, 8 and 16 pixels by 2, 2, 2, 4, 4, 8 and 8 rows, 3 bytes a pixel and a filter byte a row.
        var file = TestImages.PngHeaderOnly(16, 16, interlaced: true, badZlibCheck: true);

        var refusal = Task.Run(() => StepHarness.AssertFails(
            InferenceErrorKind.BadRequest,
            () => StepHarness.Run(Step, "x", StepHarness.Images("image", file)),
            "element 0 is truncated: the PNG's image data inflates to 64 of the 798 bytes of rows its header declares"));

        await refusal.WaitAsync(TimeSpan.FromSeconds(30));
    }

    private static byte[] Cut(string file)
    {
        switch (file)
        {
            case "png without IEND":
                Assert.Equal("IEND", TestImages.PngChunks(Png)[^1].Type);
                return Png[..^12];
            case "png cut after its first IDAT chunk":
                var large = TestImages.NoiseFile(new PngEncoder(), 200, 200);
                var idat = TestImages.PngChunks(large).Where(c => c.Type == "IDAT").ToList();
                Assert.True(idat.Count > 1, "the noise PNG has one IDAT chunk");
                return large[..idat[0].End];
            case "png cut inside IDAT":
                return Png[..(Png.Length * 2 / 3)];
            case "jpeg without EOI":
                Assert.Equal([0xFF, 0xD9], Jpeg[^2..]);
                return Jpeg[..^2];
            case "jpeg cut in its scan":
                return Jpeg[..(Jpeg.Length * 2 / 3)];
            case "jpeg cut in a segment after its scan":
                // A comment segment (FF FE) of 8 bytes between the scan and EOI, cut in its middle. (A cut in the
                // segments before the scan fails ImageSharp's Identify: "not an image".)
                byte[] comment = [0xFF, 0xFE, 0, 10, .. "a remark"u8];
                return [.. Jpeg[..^2], .. comment[..6]];
            case "gif without trailer":
                var gif = TestImages.NoiseFile(new GifEncoder());
                Assert.Equal(0x3B, gif[^1]);
                return gif[..^1];
            case "gif cut in its image data":
                var noise = TestImages.NoiseFile(new GifEncoder());
                return noise[..(noise.Length * 2 / 3)];
            case "webp lossless cut":
                var lossless = Whole("webp lossless");
                return lossless[..(lossless.Length * 2 / 3)];
            case "webp lossy cut":
                var lossy = Whole("webp lossy");
                return lossy[..(lossy.Length * 2 / 3)];
            case "bmp cut":
                return Whole("bmp")[..^1];
            case "pbm cut":
                return Whole("pbm")[..^1];
            case "tga cut":
                return Whole("tga")[..^1];
            case "tga rle cut":
                var runs = Whole("tga rle");
                return runs[..(runs.Length * 2 / 3)];
            default:
                Assert.Equal("tiff directory first cut", file);
                return Whole("tiff directory first")[..^1];
        }
    }

    private static byte[] Whole(string format)
    {
        if (format == "tiff directory first")
        {
            return TestImages.TiffDirectoryFirst(64, 48);
        }

        IImageEncoder encoder = format switch
        {
            "png" => new PngEncoder(),
            "png interlaced" => new PngEncoder { InterlaceMethod = PngInterlaceMode.Adam7 },
            "jpeg" => new JpegEncoder { Quality = 90 },
            "gif" => new GifEncoder(),
            "webp lossless" => new WebpEncoder { FileFormat = WebpFileFormatType.Lossless },
            "webp lossy" => new WebpEncoder { FileFormat = WebpFileFormatType.Lossy },
            "bmp" => new BmpEncoder(),
            "pbm" => new PbmEncoder { Encoding = PbmEncoding.Binary, ColorType = PbmColorType.Rgb },
            "pbm plain" => new PbmEncoder { Encoding = PbmEncoding.Plain, ColorType = PbmColorType.Rgb },
            "tga" => new TgaEncoder { Compression = TgaCompression.None },
            "tga rle" => new TgaEncoder { Compression = TgaCompression.RunLength },
            _ => new TiffEncoder(),
        };
        return TestImages.NoiseFile(encoder);
    }
}

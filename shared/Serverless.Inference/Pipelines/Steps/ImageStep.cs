using System.Globalization;
using Serverless.Inference.Runtime;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Advanced;
using SixLabors.ImageSharp.Memory;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;
using SixLabors.ImageSharp.Processing.Processors.Transforms;

namespace Serverless.Inference.Pipelines.Steps;

/// <summary>
/// <c>{"type": "image", "input": "image", "output": "x", "width": 192, "height": 48, ...}</c>: turns image files into
/// the FP32 tensor a vision model takes. Each element of the BYTES tensor <see cref="Input"/> ([N] or [N, 1]) is
/// decoded, resized to <see cref="Width"/> x <see cref="Height"/>, and written as 3 channels of
/// <c>(v × scale − mean[c]) / std[c]</c>, where v is the 0..255 channel value, into <see cref="Output"/>:
/// FP32 [N, 3, height, width] (NCHW) or [N, height, width, 3] (NHWC).
/// A caller's bad element (not an image, over <see cref="MaxPixels"/>, truncated) is a 400 that names the element;
/// nothing is decoded before every element passed those checks and their pixels together passed
/// <see cref="MaxPixelsPerRequest"/>.
/// </summary>
/// <param name="Input">
/// The BYTES tensor of images, [N] or [N, 1]. An element is the bytes of an image file in any format ImageSharp 2
/// decodes (PNG, JPEG, GIF, BMP, TGA, TIFF, WebP, PBM) — or the base64 text of such a file, optionally as a
/// <c>data:image/...;base64,</c> URI, which is what a JSON request or a JSON lines batch file can carry. An element
/// is taken as base64 only when all of it is valid base64 and the decoded bytes start with a known image signature;
/// anything else is taken as the file itself. Only the first frame of a GIF or TIFF is read; metadata
/// (EXIF orientation included) is ignored, so pixels are used as stored; an alpha channel is dropped, not blended.
/// </param>
/// <param name="Output">The FP32 tensor written, usually the name of the model's image input.</param>
/// <param name="Width">The output width in pixels (1..8192).</param>
/// <param name="Height">The output height in pixels (1..8192).</param>
/// <param name="Resize">
/// The resampler: <c>"bilinear"</c> (the default; ImageSharp's triangle filter, which is bilinear interpolation when
/// enlarging and widens to average every covered source pixel when shrinking), <c>"nearest"</c> (nearest neighbour)
/// or <c>"bicubic"</c>. An image already at the target size is not resampled.
/// </param>
/// <param name="KeepAspect">
/// False (the default): a plain resize to width x height, stretching as needed; <see cref="Crop"/> and
/// <see cref="Pad"/> must then be absent or <c>"none"</c>. True: keep the aspect ratio, reaching width x height by
/// <see cref="Crop"/> <c>"center"</c> (the default) or <see cref="Pad"/> <c>"right"</c>.
/// </param>
/// <param name="Crop">
/// <c>"center"</c> (with keep_aspect): scale so the image covers width x height (its shorter side, relative to the
/// target, fits exactly) and cut the overflow equally from both sides. <c>"none"</c> or absent: no crop.
/// </param>
/// <param name="Pad">
/// <c>"right"</c> (with keep_aspect): PaddleOCR's text-line resize — scale to exactly <see cref="Height"/> rows
/// keeping the aspect ratio, to <c>min(width, ceil(height × w / h))</c> columns (an image wider than that is
/// squeezed to width), and fill the columns to the right of it with <see cref="PadValue"/>.
/// <c>"none"</c> or absent: no padding.
/// </param>
/// <param name="PadValue">The tensor value of padded positions, after normalisation (0 by default, as PaddleOCR pads).</param>
/// <param name="Layout"><c>"NCHW"</c> (the default): [N, 3, H, W], channel planes; <c>"NHWC"</c>: [N, H, W, 3], interleaved.</param>
/// <param name="Channels"><c>"RGB"</c> (the default) or <c>"BGR"</c> (OpenCV-trained models): the order of the 3 channels.</param>
/// <param name="Scale">Multiplies the 0..255 value first, e.g. 0.00392156862745098 (1/255) for 0..1; 1 by default.</param>
/// <param name="Mean">
/// Subtracted after <see cref="Scale"/>: one value for every channel or one per channel in the order
/// <see cref="Channels"/> gives; 0 by default.
/// </param>
/// <param name="Std">Divides after <see cref="Mean"/>: one value or one per channel, as for mean; not 0; 1 by default.</param>
/// <param name="MaxPixels">
/// The most pixels (width x height, as the file's header says) an element may have; a larger one is refused with a
/// 400 before any pixel is decoded. A model may set any value, above the default too. By default
/// <see cref="DefaultMaxPixels"/> of the output size: 64 times width x height (a source 8 times the target's width
/// and height; shrinking more than that throws away over 98% of what was decoded), at least 4,194,304 (2048 x 2048,
/// so that a model with a small input, 224 x 224 or 28 x 28, still takes a downscaled photo or a screenshot) and at
/// most 40,000,000. Decoding costs 3 bytes and a few nanoseconds a pixel whatever the file's size: under a single
/// 40 M limit, a 69-byte PNG that declares 6324 x 6324 costs 120 MB and a third of a second for a 192 x 48 input.
/// </param>
/// <param name="MaxPixelsPerRequest">
/// The most pixels all elements of one request (one tensor: an HTTP request, or a micro-batch or JSON request row of
/// a batch file) may declare together, checked on every element's header before any element is decoded; a request
/// over it is refused as a whole with a 413 naming both numbers (a batch file's micro-batch is then scored row by
/// row, and a row over it alone is that row's error). By default 4 x <see cref="MaxPixels"/>: pixels are what a
/// request can multiply (one per element, up to the model's batch size), so one request decodes at most what four of
/// the largest images allowed cost, and a full batch of images near the model's size still fits (16,777,216 for the
/// 192 x 48 default: 64 images of 1024 x 256).
/// </param>
internal sealed record ImageStep(
    string Input,
    string Output,
    int Width,
    int Height,
    string Resize = "bilinear",
    bool KeepAspect = false,
    string? Crop = null,
    string? Pad = null,
    float PadValue = 0,
    string Layout = "NCHW",
    string Channels = "RGB",
    float Scale = 1,
    IReadOnlyList<float>? Mean = null,
    IReadOnlyList<float>? Std = null,
    long? MaxPixels = null,
    long? MaxPixelsPerRequest = null) : PipelineStep
{
    /// <summary>The least default <see cref="MaxPixels"/>, 2048 x 2048, whatever the output size.</summary>
    internal const long MaxPixelsFloor = 2048 * 2048;

    /// <summary>The most default <see cref="MaxPixels"/>, whatever the output size.</summary>
    internal const long MaxPixelsCap = 40_000_000;

    /// <summary>The default <see cref="MaxPixels"/> per output pixel.</summary>
    internal const long MaxPixelsPerOutputPixel = 64;

    /// <summary>The default <see cref="MaxPixelsPerRequest"/> in <see cref="MaxPixels"/>.</summary>
    internal const long ImagesPerRequestBudget = 4;

    /// <summary>The largest width or height the step writes.</summary>
    public const int MaxSide = 8192;

    private const int ChannelCount = 3;

    public override IReadOnlyList<string> Consumes => [Input];

    public override IReadOnlyList<string> Produces => [Output];

    /// <summary>Where decoded pixels come from; tests pass one that counts. By default a pooled allocator per step.</summary>
    internal MemoryAllocator? Allocator { get; init; }

    /// <summary>The default <see cref="MaxPixels"/> for an output of <paramref name="width"/> x <paramref name="height"/>.</summary>
    internal static long DefaultMaxPixels(int width, int height) =>
        Math.Clamp(MaxPixelsPerOutputPixel * width * height, MaxPixelsFloor, MaxPixelsCap);

    internal override IPipelineOperation Create(PipelineBuildContext context)
    {
        string Fail(string problem) => throw new InferenceException(InferenceErrorKind.Unavailable, $"image step '{Output}': {problem}");

        if (string.IsNullOrEmpty(Input) || string.IsNullOrEmpty(Output))
        {
            Fail("input and output are required");
        }

        if (Width is < 1 or > MaxSide || Height is < 1 or > MaxSide)
        {
            Fail($"width and height must be between 1 and {MaxSide}, not {Width} x {Height}");
        }

        IResampler sampler = Resize switch
        {
            "bilinear" => KnownResamplers.Triangle,
            "nearest" => KnownResamplers.NearestNeighbor,
            "bicubic" => KnownResamplers.Bicubic,
            _ => throw Unavailable($"resize must be \"bilinear\", \"nearest\" or \"bicubic\", not \"{Resize}\""),
        };

        var crop = Crop is null or "none" ? false : Crop == "center" ? true : throw Unavailable($"crop must be \"center\" or \"none\", not \"{Crop}\"");
        var pad = Pad is null or "none" ? false : Pad == "right" ? true : throw Unavailable($"pad must be \"right\" or \"none\", not \"{Pad}\"");
        var fit = (KeepAspect, crop, pad) switch
        {
            (false, false, false) => ImageFit.Stretch,
            (false, _, _) => throw Unavailable("crop \"center\" and pad \"right\" keep the aspect ratio: they need keep_aspect true"),
            (true, true, true) => throw Unavailable("crop \"center\" and pad \"right\" cannot both apply"),
            (true, _, true) => ImageFit.PadRight,
            (true, _, _) => ImageFit.CoverAndCrop,
        };

        var nchw = Layout switch
        {
            "NCHW" => true,
            "NHWC" => false,
            _ => throw Unavailable($"layout must be \"NCHW\" or \"NHWC\", not \"{Layout}\""),
        };

        var bgr = Channels switch
        {
            "RGB" => false,
            "BGR" => true,
            _ => throw Unavailable($"channels must be \"RGB\" or \"BGR\", not \"{Channels}\""),
        };

        var mean = PerChannel(Mean, 0f, "mean");
        var std = PerChannel(Std, 1f, "std");
        if (!float.IsFinite(Scale) || !float.IsFinite(PadValue) || mean.Any(m => !float.IsFinite(m)) || std.Any(s => !float.IsFinite(s) || s == 0))
        {
            Fail("scale, pad_value and mean must be finite numbers, std finite and not 0");
        }

        var maxPixels = MaxPixels ?? DefaultMaxPixels(Width, Height);
        var maxPixelsPerRequest = MaxPixelsPerRequest ?? (maxPixels > long.MaxValue / ImagesPerRequestBudget ? long.MaxValue : ImagesPerRequestBudget * maxPixels);
        if (maxPixels < 1 || maxPixelsPerRequest < 1)
        {
            Fail(maxPixels < 1 ? "max_pixels must be at least 1" : "max_pixels_per_request must be at least 1");
        }

        CheckModelInput(context.Model.FindInput(Output), nchw);

        // (v × scale − mean) / std for every byte value v, per output channel: one lookup per value at run time.
        var table = new float[ChannelCount * 256];
        for (var c = 0; c < ChannelCount; c++)
        {
            for (var v = 0; v < 256; v++)
            {
                table[(c * 256) + v] = ((v * Scale) - mean[c]) / std[c];
            }
        }

        return new Operation(this, new ImageElementReader(maxPixels, Allocator), maxPixelsPerRequest, sampler, fit, nchw, bgr, table);
    }

    private InferenceException Unavailable(string problem) => new(InferenceErrorKind.Unavailable, $"image step '{Output}': {problem}");

    private float[] PerChannel(IReadOnlyList<float>? values, float fallback, string option) => values switch
    {
        null => [fallback, fallback, fallback],
        [var one] => [one, one, one],
        [_, _, _] => [.. values],
        _ => throw Unavailable($"{option} takes 1 or {ChannelCount} values, not {values.Count}"),
    };

    /// <summary>When the output feeds the model directly, its declared type and shape must agree with the options.</summary>
    private void CheckModelInput(TensorSpec? input, bool nchw)
    {
        if (input is null)
        {
            return;
        }

        long[] expected = nchw ? [-1, ChannelCount, Height, Width] : [-1, Height, Width, ChannelCount];
        var agrees = input.DataType == TensorDataType.Fp32
            && input.Shape.Count == 4
            && input.Shape.Skip(1).Zip(expected.Skip(1)).All(pair => pair.First < 0 || pair.First == pair.Second);
        if (!agrees)
        {
            throw Unavailable(string.Create(
                CultureInfo.InvariantCulture,
                $"the model input is {input}, but the step writes FP32[N,{string.Join(',', expected.Skip(1))}] ({Layout}, {Width} x {Height})"));
        }
    }

    private enum ImageFit
    {
        Stretch,
        CoverAndCrop,
        PadRight,
    }

    private sealed class Operation(ImageStep step, ImageElementReader reader, long maxPixelsPerRequest, IResampler sampler, ImageFit fit, bool nchw, bool bgr, float[] table)
        : IPipelineOperation
    {
        public void Apply(PipelineRun run)
        {
            var input = run.Get(step.Input);
            if (input.DataType != TensorDataType.Bytes)
            {
                throw new InferenceException(InferenceErrorKind.Internal, $"the image step reads a BYTES tensor, not '{input.Name}' {input.DataType.ToProtocolName()}");
            }

            if (input.Shape.Length is not (1 or 2) || (input.Shape.Length == 2 && input.Shape[1] != 1))
            {
                throw InferenceException.BadRequest($"input '{input.Name}' must hold one image per row, [N] or [N,1], not [{string.Join(',', input.Shape)}]");
            }

            var count = input.ElementCount;
            var perImage = ChannelCount * step.Width * step.Height;
            if ((long)count * perImage * sizeof(float) > Array.MaxLength)
            {
                throw InferenceException.BadRequest($"{count} images of {step.Width} x {step.Height} do not fit in one tensor");
            }

            // Every header, then the request's pixels, then every file whole (for a PNG, an inflate): a bad request is
            // refused at the least cost, and before any element is decoded.
            var elements = input.Strings!;
            var headers = new ImageElement[count];
            long pixels = 0;
            for (var i = 0; i < count; i++)
            {
                run.CancellationToken.ThrowIfCancellationRequested();
                headers[i] = reader.Inspect(elements[i], i);
                pixels = pixels > long.MaxValue - headers[i].Pixels ? long.MaxValue : pixels + headers[i].Pixels;
            }

            if (pixels > maxPixelsPerRequest)
            {
                throw new InferenceException(InferenceErrorKind.PayloadTooLarge, string.Create(
                    CultureInfo.InvariantCulture,
                    $"the {count} image(s) of this request declare {pixels} pixels in all: more than the {maxPixelsPerRequest} pixels this model decodes for one request; send fewer or smaller images at a time"));
            }

            for (var i = 0; i < count; i++)
            {
                run.CancellationToken.ThrowIfCancellationRequested();
                ImageElementReader.CheckWhole(headers[i], i);
            }

            long[] shape = nchw ? [count, ChannelCount, step.Height, step.Width] : [count, step.Height, step.Width, ChannelCount];
            var output = PipelineTensor.Numbers(step.Output, TensorDataType.Fp32, shape);
            for (var i = 0; i < count; i++)
            {
                run.CancellationToken.ThrowIfCancellationRequested();
                using var image = reader.Decode(headers[i], i);
                Write(image, i, output.AsSpan<float>().Slice(i * perImage, perImage));
            }

            run.Set(output);
        }

        private void Write(Image<Rgb24> image, int element, Span<float> target)
        {
            var (width, height) = (step.Width, step.Height);
            var columns = width;
            try
            {
                switch (fit)
                {
                    case ImageFit.Stretch when image.Width != width || image.Height != height:
                        image.Mutate(x => x.Resize(new ResizeOptions { Size = new Size(width, height), Mode = ResizeMode.Stretch, Sampler = sampler }));
                        break;
                    case ImageFit.CoverAndCrop when image.Width != width || image.Height != height:
                        image.Mutate(x => x.Resize(new ResizeOptions { Size = new Size(width, height), Mode = ResizeMode.Crop, Position = AnchorPositionMode.Center, Sampler = sampler }));
                        break;
                    case ImageFit.PadRight:
                        columns = (int)Math.Clamp(Math.Ceiling(height * (double)image.Width / image.Height), 1, width);
                        if (image.Width != columns || image.Height != height)
                        {
                            image.Mutate(x => x.Resize(new ResizeOptions { Size = new Size(columns, height), Mode = ResizeMode.Stretch, Sampler = sampler }));
                        }

                        break;
                }
            }
            catch (ImageProcessingException e)
            {
                throw InferenceException.BadRequest($"element {element}: the image could not be resized: {e.Message}");
            }

            if (image.Width != columns || image.Height != height)
            {
                throw new InferenceException(InferenceErrorKind.Internal, $"element {element}: resized to {image.Width} x {image.Height}, not {columns} x {height}");
            }

            if (columns < width && step.PadValue != 0)
            {
                target.Fill(step.PadValue);
            }

            // Channel c of the output reads this component of the pixel: R, G, B, or B, G, R.
            var (first, last) = bgr ? (2, 0) : (0, 2);
            var plane = width * height;
            for (var y = 0; y < height; y++)
            {
                var row = image.DangerousGetPixelRowMemory(y).Span;
                for (var x = 0; x < columns; x++)
                {
                    var pixel = row[x];
                    var (c0, c1, c2) = (Component(pixel, first), pixel.G, Component(pixel, last));
                    if (nchw)
                    {
                        var at = (y * width) + x;
                        target[at] = table[c0];
                        target[plane + at] = table[256 + c1];
                        target[(2 * plane) + at] = table[512 + c2];
                    }
                    else
                    {
                        var at = ((y * width) + x) * ChannelCount;
                        target[at] = table[c0];
                        target[at + 1] = table[256 + c1];
                        target[at + 2] = table[512 + c2];
                    }
                }
            }
        }

        private static byte Component(Rgb24 pixel, int index) => index == 0 ? pixel.R : pixel.B;
    }
}

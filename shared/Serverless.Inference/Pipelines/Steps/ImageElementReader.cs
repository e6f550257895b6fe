using System.Buffers.Text;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Pbm;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Tga;
using SixLabors.ImageSharp.Formats.Tiff;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.Memory;
using SixLabors.ImageSharp.Metadata;
using SixLabors.ImageSharp.PixelFormats;

namespace Serverless.Inference.Pipelines.Steps;

/// <summary>
/// Reads one element of an image tensor into RGB pixels, safely: base64 or raw file bytes, the header checked against
/// the pixel limit and the file checked whole before anything is decoded (in steps, so that a request's elements can
/// all be checked first), and every decoder failure turned into a 400 that names the element.
/// </summary>
internal sealed class ImageElementReader
{
    private readonly Configuration _configuration;
    private readonly long _maxPixels;

    /// <param name="maxPixels">The most pixels an element's header may declare.</param>
    /// <param name="allocator">Where pixel memory comes from; tests pass one that counts. By default a pooled allocator of its own.</param>
    public ImageElementReader(long maxPixels, MemoryAllocator? allocator = null)
    {
        _maxPixels = maxPixels;
        // Native AOT: ImageSharp's TIFF decoder reads EXIF data types with Enum.GetValues(typeof(ExifDataType)), which needs
        // the ExifDataType[] type, generated only where code creates one: this does (a TIFF failed under AOT without it;
        // see TrimWarnings.allowed in functions-aws).
        _ = Enum.GetValues<SixLabors.ImageSharp.Metadata.Profiles.Exif.ExifDataType>();
        // A configuration of its own (not Configuration.Default, whose format registrations are shared process-wide):
        // first frames only, metadata skipped, and an allocator that refuses any one buffer larger than the pixel
        // limit allows (16 bytes a pixel covers the widest pixel type a decoder uses) — a second line of defence
        // behind the header check.
        var limitMegabytes = (int)Math.Clamp(((maxPixels * 16) >> 20) + 16, 16, int.MaxValue);
        _configuration = new Configuration(
            new PngConfigurationModule(),
            new JpegConfigurationModule(),
            new GifConfigurationModule(),
            new BmpConfigurationModule(),
            new PbmConfigurationModule(),
            new TgaConfigurationModule(),
            new TiffConfigurationModule(),
            new WebpConfigurationModule())
        {
            MemoryAllocator = allocator ?? MemoryAllocator.Create(new MemoryAllocatorOptions { AllocationLimitMegabytes = limitMegabytes, MaximumPoolSizeMegabytes = 32 }),
        };
        var formats = _configuration.ImageFormatsManager;
        formats.SetDecoder(PngFormat.Instance, new PngDecoder { IgnoreMetadata = true });
        formats.SetDecoder(JpegFormat.Instance, new JpegDecoder { IgnoreMetadata = true });
        formats.SetDecoder(GifFormat.Instance, new GifDecoder { IgnoreMetadata = true, DecodingMode = FrameDecodingMode.First, MaxFrames = 1 });
        formats.SetDecoder(TiffFormat.Instance, new TiffDecoder { IgnoreMetadata = true, DecodingMode = FrameDecodingMode.First });
        formats.SetDecoder(WebpFormat.Instance, new WebpDecoder { IgnoreMetadata = true });
        Formats = string.Join(", ", formats.ImageFormats.Select(format => format.Name).Order(StringComparer.Ordinal));
    }

    /// <summary>The formats this reader decodes, for messages.</summary>
    public string Formats { get; }

    /// <summary>Decodes element <paramref name="index"/>; the caller disposes the image.</summary>
    public Image<Rgb24> Read(byte[] element, int index)
    {
        var header = Inspect(element, index);
        CheckWhole(header, index);
        return Decode(header, index);
    }

    /// <summary>
    /// Reads element <paramref name="index"/>'s header without decoding a pixel: its format and size, refused when it is
    /// not an image or has more pixels than the limit.
    /// </summary>
    public ImageElement Inspect(byte[] element, int index)
    {
        var bytes = FromBase64(element) ?? element;
        return Guarded(index, () =>
        {
            var info = Image.Identify(_configuration, bytes, out var format);
            if (info is null || format is null)
            {
                throw InferenceException.BadRequest($"element {index} is not an image ImageSharp can read: not a known format ({Formats})");
            }

            if ((long)info.Width * info.Height > _maxPixels)
            {
                throw InferenceException.BadRequest($"element {index} is a {info.Width} x {info.Height} image: more than the {_maxPixels} pixels this model accepts");
            }

            return new ImageElement(bytes, format, info.Width, info.Height);
        });
    }

    /// <summary>Refuses an element <see cref="Inspect"/> passed whose file is cut short (<see cref="ImageCompleteness"/>).</summary>
    public static void CheckWhole(ImageElement element, int index)
    {
        if (ImageCompleteness.Problem(element.Bytes, element.Format) is { } problem)
        {
            throw InferenceException.BadRequest($"element {index} is truncated: {problem}");
        }
    }

    /// <summary>Decodes an element <see cref="Inspect"/> and <see cref="CheckWhole"/> passed; the caller disposes the image.</summary>
    public Image<Rgb24> Decode(ImageElement element, int index) =>
        Guarded(index, () =>
        {
            var image = Image.Load<Rgb24>(_configuration, element.Bytes);
            if (image.Width != element.Width || image.Height != element.Height)
            {
                // The pixel check was made on the header; a decoder that disagrees with its own header is not trusted.
                image.Dispose();
                throw InferenceException.BadRequest($"element {index} is not an image ImageSharp can read: its header says {element.Width} x {element.Height}, its pixels {image.Width} x {image.Height}");
            }

            if (image.Frames.Count > 1)
            {
                // Only the first frame is used; the rest would be resized for nothing.
                while (image.Frames.Count > 1)
                {
                    image.Frames.RemoveFrame(1);
                }
            }

            return image;
        });

    /// <summary>Runs ImageSharp on element <paramref name="index"/>, turning every decoder failure into a 400 that names it.</summary>
    private static T Guarded<T>(int index, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (InferenceException)
        {
            throw;
        }
        catch (InvalidMemoryOperationException e)
        {
            throw InferenceException.BadRequest($"element {index} is too large to decode: {e.Message}");
        }
        catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
        {
            // Decoders signal malformed input with several exception types (ImageFormatException, NotSupportedException,
            // and on crafted files others); all of them are the caller's bad element, never a server error.
            throw InferenceException.BadRequest($"element {index} is not an image ImageSharp can read: {e.Message}");
        }
    }

    /// <summary>
    /// The decoded bytes when the element is base64 text (optionally a <c>data:...;base64,</c> URI) of a known image
    /// format; null when it is not, so it is taken as the file itself. Raw PNG, JPEG, BMP and most other files
    /// fail the base64 check on their first bytes, so trying costs nothing for them.
    /// </summary>
    private byte[]? FromBase64(byte[] element)
    {
        ReadOnlySpan<byte> text = element;
        if (text.StartsWith("data:"u8))
        {
            var comma = text.IndexOf((byte)',');
            if (comma < 0 || !text[..comma].EndsWith(";base64"u8))
            {
                return null;
            }

            text = text[(comma + 1)..];
        }

        if (text.IsEmpty || !Base64.IsValid(text, out var length) || length == 0)
        {
            return null;
        }

        var decoded = new byte[length];
        if (Base64.DecodeFromUtf8(text, decoded, out _, out var written) != System.Buffers.OperationStatus.Done || written != length)
        {
            // Whitespace inside the text (which IsValid allows) is not skipped by the span decoder: use the lenient one.
            try
            {
                decoded = Convert.FromBase64String(System.Text.Encoding.ASCII.GetString(text));
            }
            catch (FormatException)
            {
                return null;
            }
        }

        return Image.DetectFormat(_configuration, decoded) is null ? null : decoded;
    }
}

/// <summary>An element whose header passed the pixel limit: its file's bytes (decoded when it was base64), format and size.</summary>
internal readonly record struct ImageElement(byte[] Bytes, IImageFormat Format, int Width, int Height)
{
    public long Pixels => (long)Width * Height;
}

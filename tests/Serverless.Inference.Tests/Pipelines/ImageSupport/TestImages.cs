using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace Serverless.Inference.Tests.Pipelines.ImageSupport;

/// <summary>Image files made in the test: tiny PNGs with chosen pixels, a crafted huge-header PNG, and a text line.</summary>
public static class TestImages
{
    /// <summary>A PNG of <paramref name="width"/> x <paramref name="height"/> RGB pixels given row by row.</summary>
    public static byte[] Png(int width, int height, params (byte R, byte G, byte B)[] pixels)
    {
        Assert.Equal(width * height, pixels.Length);
        using var image = new Image<Rgb24>(width, height);
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var (r, g, b) = pixels[(y * width) + x];
                image[x, y] = new Rgb24(r, g, b);
            }
        }

        return Encode(image, new PngEncoder());
    }

    /// <summary>A PNG filled with one colour.</summary>
    public static byte[] Solid(int width, int height, byte r, byte g, byte b) =>
        Png(width, height, [.. Enumerable.Repeat((r, g, b), width * height)]);

    /// <summary>A JPEG filled with one colour (lossy, so values come back within a few levels).</summary>
    public static byte[] SolidJpeg(int width, int height, byte r, byte g, byte b)
    {
        using var image = new Image<Rgb24>(width, height, new Rgb24(r, g, b));
        return Encode(image, new JpegEncoder { Quality = 95 });
    }

    public static byte[] Encode<TPixel>(Image<TPixel> image, SixLabors.ImageSharp.Formats.IImageEncoder encoder)
        where TPixel : unmanaged, IPixel<TPixel>
    {
        using var stream = new MemoryStream();
        image.Save(stream, encoder);
        return stream.ToArray();
    }

    /// <summary>The base64 text of a file, as UTF-8 bytes (what a JSON string element carries).</summary>
    public static byte[] Base64(byte[] file) => Encoding.ASCII.GetBytes(Convert.ToBase64String(file));

    /// <summary>
    /// A real, tiny PNG whose IHDR says <paramref name="width"/> x <paramref name="height"/> 8-bit RGB, with one
    /// small IDAT (a few compressed zero bytes) and IEND, every chunk with a correct CRC: its header reads fine,
    /// but decoding it would allocate width x height pixels before finding the data short.
    /// </summary>
    public static byte[] PngHeaderOnly(int width, int height)
    {
        using var file = new MemoryStream();
        file.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);

        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8;  // bit depth
        header[9] = 2;  // colour type: RGB
        header[10] = 0; // compression: deflate
        header[11] = 0; // filter method
        header[12] = 0; // no interlace
        Chunk(file, "IHDR", header);

        using (var compressed = new MemoryStream())
        {
            using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
            {
                zlib.Write(new byte[64]);
            }

            Chunk(file, "IDAT", compressed.ToArray());
        }

        Chunk(file, "IEND", []);
        return file.ToArray();
    }

    /// <summary>
    /// A text line: dark 3x-scaled 5x7 glyphs of <paramref name="text"/> (letters of "Hello world") on a white
    /// strip 48 pixels high and as wide as the text plus an 8-pixel margin either side.
    /// </summary>
    public static Image<Rgb24> TextLine(string text)
    {
        const int Scale = 3;
        const int Advance = 6 * Scale;
        var image = new Image<Rgb24>(16 + (text.Length * Advance) - Scale, 48, new Rgb24(255, 255, 255));
        var x = 8;
        foreach (var c in text)
        {
            if (Glyphs.TryGetValue(c, out var rows))
            {
                for (var row = 0; row < rows.Length; row++)
                {
                    for (var column = 0; column < 5; column++)
                    {
                        if (rows[row][column] == '#')
                        {
                            FillRectangle(image, x + (column * Scale), 12 + (row * Scale), Scale, Scale, new Rgb24(20, 20, 30));
                        }
                    }
                }
            }

            x += Advance;
        }

        return image;
    }

    /// <summary>The PNG of <see cref="TextLine"/>, upright or turned by 180 degrees.</summary>
    public static byte[] TextLinePng(string text, bool upsideDown)
    {
        using var image = TextLine(text);
        if (upsideDown)
        {
            image.Mutate(x => x.Rotate(RotateMode.Rotate180));
        }

        return Encode(image, new PngEncoder());
    }

    private static void FillRectangle(Image<Rgb24> image, int left, int top, int width, int height, Rgb24 colour)
    {
        for (var y = top; y < top + height && y < image.Height; y++)
        {
            for (var x = left; x < left + width && x < image.Width; x++)
            {
                image[x, y] = colour;
            }
        }
    }

    private static void Chunk(Stream file, string type, byte[] data)
    {
        Span<byte> number = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(number, data.Length);
        file.Write(number);
        var typeAndData = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        file.Write(typeAndData);
        BinaryPrimitives.WriteUInt32BigEndian(number, Crc32(typeAndData));
        file.Write(number);
    }

    /// <summary>The CRC-32 of PNG chunks (ISO 3309, polynomial 0xEDB88320), bit by bit.</summary>
    private static uint Crc32(ReadOnlySpan<byte> bytes)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (var bit = 0; bit < 8; bit++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
        }

        return crc ^ 0xFFFFFFFFu;
    }

    private static readonly Dictionary<char, string[]> Glyphs = new()
    {
        ['H'] = ["#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"],
        ['e'] = [".....", ".....", ".###.", "#...#", "#####", "#....", ".###."],
        ['l'] = [".##..", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."],
        ['o'] = [".....", ".....", ".###.", "#...#", "#...#", "#...#", ".###."],
        ['w'] = [".....", ".....", "#...#", "#...#", "#.#.#", "#.#.#", ".#.#."],
        ['r'] = [".....", ".....", "#.##.", "##..#", "#....", "#....", "#...."],
        ['d'] = ["....#", "....#", ".##.#", "#..##", "#...#", "#...#", ".####"],
    };
}

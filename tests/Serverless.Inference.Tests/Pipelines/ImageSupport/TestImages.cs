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

    /// <summary>
    /// An image of seeded noise, so that its files do not compress away: a PNG of 200 x 200 takes two IDAT chunks.
    /// </summary>
    public static Image<Rgb24> Noise(int width, int height, int seed = 7)
    {
        var random = new Random(seed);
        var image = new Image<Rgb24>(width, height);
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                image[x, y] = new Rgb24((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256));
            }
        }

        return image;
    }

    /// <summary>The file of a <see cref="Noise"/> image in the encoder's format.</summary>
    public static byte[] NoiseFile(SixLabors.ImageSharp.Formats.IImageEncoder encoder, int width = 64, int height = 48)
    {
        using var image = Noise(width, height);
        return Encode(image, encoder);
    }

    /// <summary>
    /// An uncompressed 8-bit grey TIFF with its directory before its one strip of pixels (ImageSharp's encoder writes
    /// it after them), so that a cut loses pixels, not the directory.
    /// </summary>
    public static byte[] TiffDirectoryFirst(int width, int height)
    {
        (ushort Tag, ushort Type, uint Value)[] entries =
        [
            (256, 3, (uint)width), (257, 3, (uint)height), (258, 3, 8), (259, 3, 1), (262, 3, 1),
            (273, 4, 0), (277, 3, 1), (278, 3, (uint)height), (279, 4, (uint)(width * height)),
        ];
        var pixels = 8 + 2 + (entries.Length * 12) + 4;
        var file = new byte[pixels + (width * height)];
        "II*\0"u8.CopyTo(file);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(4), 8);
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(8), (ushort)entries.Length);
        for (var i = 0; i < entries.Length; i++)
        {
            var (tag, type, value) = entries[i];
            var at = 10 + (i * 12);
            BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(at), tag);
            BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(at + 2), type);
            BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(at + 4), 1);
            var field = file.AsSpan(at + 8);
            if (type == 3)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(field, (ushort)value);
            }
            else
            {
                BinaryPrimitives.WriteUInt32LittleEndian(field, tag == 273 ? (uint)pixels : value);
            }
        }

        for (var i = pixels; i < file.Length; i++)
        {
            file[i] = (byte)(i * 7);
        }

        return file;
    }

    /// <summary>Where each chunk of a PNG ends, in file order, with its type.</summary>
    public static List<(string Type, int End)> PngChunks(byte[] png)
    {
        var chunks = new List<(string, int)>();
        for (var at = 8; at + 8 <= png.Length;)
        {
            var end = at + 12 + BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(at));
            chunks.Add((Encoding.ASCII.GetString(png, at + 4, 4), end));
            at = end;
        }

        return chunks;
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
    /// but decoding it would allocate width x height pixels before finding the data short. With
    /// <paramref name="badZlibCheck"/>, the zlib header's check bits are wrong (ImageSharp does not read them).
    /// </summary>
    public static byte[] PngHeaderOnly(int width, int height, bool interlaced = false, bool badZlibCheck = false)
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
        header[12] = interlaced ? (byte)1 : (byte)0; // Adam7 or none
        Chunk(file, "IHDR", header);

        using (var compressed = new MemoryStream())
        {
            using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
            {
                zlib.Write(new byte[64]);
            }

            var data = compressed.ToArray();
            data[1] ^= badZlibCheck ? (byte)1 : (byte)0;
            Chunk(file, "IDAT", data);
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

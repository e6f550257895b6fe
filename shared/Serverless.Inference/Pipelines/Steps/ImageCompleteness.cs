using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Pbm;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Tga;
using SixLabors.ImageSharp.Formats.Tiff;
using SixLabors.ImageSharp.Formats.Webp;
using Serverless.Inference.Streams;

namespace Serverless.Inference.Pipelines.Steps;

/// <summary>
/// Whether an image file is all there. ImageSharp 2 decodes a PNG cut at a chunk boundary, and a cut JPEG, GIF, BMP,
/// WebP, PBM or TGA, without complaint, filling what is missing with black: a truncated upload would be scored as if
/// it were the picture. Each check walks the format's own structure on the bytes alone, without decoding anything:
/// <list type="bullet">
/// <item>PNG: every chunk whole, up to IEND; and the image data (the first run of IDAT chunks) inflating to the
/// rows IHDR declares. This costs one more inflate of the data (about a third of the decode's time) and it is needed:
/// ImageSharp 2.1.13 never returns from an interlaced PNG whose data is short (not even when cancelled), and fills
/// a non-interlaced one's missing rows with black. It also refuses a tiny file that declares a large image.</item>
/// <item>JPEG: the segments, and the entropy-coded data after each SOS, up to the EOI marker; bytes after EOI are
/// allowed (cameras and editors append some). An EOI inside a segment, such as an EXIF thumbnail's, does not count.</item>
/// <item>GIF: the blocks and their sub-blocks up to the trailer (0x3B), later frames included although only the
/// first is read.</item>
/// <item>WebP: the size the RIFF header declares.</item>
/// <item>BMP: the pixel array from the header's offset, as large as width, height and bit depth make it when
/// uncompressed, or as the header's image size says when compressed (not checked when that size is 0).</item>
/// <item>PBM: a binary raster (P4, P5, P6) as large as width, height and maxval make it. A plain one (P1 to P3, text)
/// is not checked.</item>
/// <item>TGA: the pixels after the header, ID and colour map, as many as width x height, counted packet by packet
/// when run-length encoded.</item>
/// <item>TIFF: the first image's strips or tiles, as its directory's offsets and byte counts place them. (A cut that
/// loses the directory, which most encoders write last, already fails ImageSharp's Identify.) BigTIFF is not
/// checked.</item>
/// </list>
/// A file of another format whose structure is whole but whose compressed data decodes to fewer pixels than it
/// declares is not caught: it costs what a whole image of its declared size costs, which the pixel limits bound.
/// </summary>
internal static class ImageCompleteness
{
    /// <returns>Null when the file is whole or its format is not checked; otherwise what is missing.</returns>
    public static string? Problem(byte[] file, IImageFormat format) => format switch
    {
        PngFormat => Png(file),
        JpegFormat => Jpeg(file),
        GifFormat => Gif(file),
        WebpFormat => Webp(file),
        BmpFormat => Bmp(file),
        PbmFormat => Pbm(file),
        TgaFormat => Tga(file),
        TiffFormat => Tiff(file),
        _ => null,
    };

    private static string? Png(byte[] file)
    {
        const int Signature = 8;
        var at = Signature;
        // The first run of consecutive IDAT chunks: the decoder reads no image data after it.
        List<(int Start, int Length)> data = [];
        var dataEnded = false;
        while (true)
        {
            if (at + 8 > file.Length)
            {
                return Invariant($"the PNG ends at byte {file.Length}, before its IEND chunk");
            }

            var length = BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(at));
            var type = file.AsSpan(at + 4, 4);
            var end = at + 12L + length;
            if (end > file.Length)
            {
                return Invariant($"the PNG ends at byte {file.Length}, inside its {ChunkName(type)} chunk, which ends at byte {end}");
            }

            if (type.SequenceEqual("IEND"u8))
            {
                break;
            }

            if (!type.SequenceEqual("IDAT"u8))
            {
                dataEnded |= data.Count > 0;
            }
            else if (!dataEnded)
            {
                data.Add((at + 8, (int)length));
            }

            at = (int)end;
        }

        var rows = PngRowBytes(file);
        var inflated = Inflate(file, data, rows);
        return inflated < rows
            ? Invariant($"the PNG's image data inflates to {inflated} of the {rows} bytes of rows its header declares")
            : null;
    }

    /// <summary>
    /// How many bytes the zlib stream in <paramref name="data"/> inflates to, counting no further than
    /// <paramref name="enough"/>; <paramref name="enough"/> when it is not valid deflate data, which the decoder
    /// refuses itself. Read as ImageSharp reads it: the 2-byte zlib header skipped unchecked, no Adler-32.
    /// </summary>
    private static long Inflate(byte[] file, List<(int Start, int Length)> data, long enough)
    {
        if (enough == 0)
        {
            return 0;
        }

        var scratch = ArrayPool<byte>.Shared.Rent(1 << 16);
        try
        {
            var compressed = new ChunkDataStream(file, data);
            if (compressed.ReadAtLeast(scratch.AsSpan(0, 2), 2, throwOnEndOfStream: false) < 2)
            {
                return 0;
            }

            using var deflate = new DeflateStream(compressed, CompressionMode.Decompress);
            long inflated = 0;
            int read;
            while (inflated < enough && (read = deflate.Read(scratch)) > 0)
            {
                inflated += read;
            }

            return inflated;
        }
        catch (InvalidDataException)
        {
            return enough;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    /// <summary>The bytes of filtered rows IHDR declares (each row has a filter byte); 0 when IHDR is not there as expected.</summary>
    private static long PngRowBytes(ReadOnlySpan<byte> file)
    {
        const int Header = 16;
        if (file.Length < Header + 13 || !file.Slice(12, 4).SequenceEqual("IHDR"u8))
        {
            return 0;
        }

        long width = BinaryPrimitives.ReadUInt32BigEndian(file[Header..]);
        long height = BinaryPrimitives.ReadUInt32BigEndian(file[(Header + 4)..]);
        var channels = file[Header + 9] switch
        {
            0 or 3 => 1,
            2 => 3,
            4 => 2,
            6 => 4,
            _ => 0,
        };
        long bitsPerPixel = channels * file[Header + 8];
        long Rows(long columns, long count) => columns == 0 || count == 0 ? 0 : count * (1 + (((columns * bitsPerPixel) + 7) / 8));

        if (file[Header + 12] != 1)
        {
            return Rows(width, height);
        }

        // Adam7: seven reduced images, each with its own rows, from (x0, y0) every (dx, dy) pixels.
        ReadOnlySpan<int> passes = [0, 0, 8, 8, 4, 0, 8, 8, 0, 4, 4, 8, 2, 0, 4, 4, 0, 2, 2, 4, 1, 0, 2, 2, 0, 1, 1, 2];
        long total = 0;
        for (var p = 0; p < passes.Length; p += 4)
        {
            var (x0, y0, dx, dy) = (passes[p], passes[p + 1], passes[p + 2], passes[p + 3]);
            total += Rows(width > x0 ? (width - x0 + dx - 1) / dx : 0, height > y0 ? (height - y0 + dy - 1) / dy : 0);
        }

        return total;
    }

    private static string ChunkName(ReadOnlySpan<byte> type)
    {
        foreach (var b in type)
        {
            if (b is not ((>= (byte)'A' and <= (byte)'Z') or (>= (byte)'a' and <= (byte)'z')))
            {
                return "next";
            }
        }

        return $"'{System.Text.Encoding.ASCII.GetString(type)}'";
    }

    private static string? Jpeg(ReadOnlySpan<byte> file)
    {
        const byte Eoi = 0xD9;
        const byte Sos = 0xDA;
        var ends = Invariant($"the JPEG ends at byte {file.Length}, before its EOI marker");
        var at = 2;
        while (true)
        {
            // Decoders skip stray bytes before a marker and any number of 0xFF fill bytes.
            var ff = file[Math.Min(at, file.Length)..].IndexOf((byte)0xFF);
            if (ff < 0)
            {
                return ends;
            }

            at += ff;
            while (at < file.Length && file[at] == 0xFF)
            {
                at++;
            }

            if (at >= file.Length)
            {
                return ends;
            }

            var marker = file[at++];
            if (marker == Eoi)
            {
                return null;
            }

            // TEM, RSTn and SOI stand alone; 0x00 is a stuffed byte, not a marker.
            if (marker is 0x00 or 0x01 or (>= 0xD0 and <= 0xD8))
            {
                continue;
            }

            if (at + 2 > file.Length)
            {
                return ends;
            }

            at += BinaryPrimitives.ReadUInt16BigEndian(file[at..]);
            if (at > file.Length)
            {
                return Invariant($"the JPEG ends at byte {file.Length}, inside a segment (marker 0x{marker:X2}) that ends at byte {at}");
            }

            if (marker != Sos)
            {
                continue;
            }

            // The scan's entropy-coded data runs to the next marker other than RSTn; 0xFF 0x00 is a data byte.
            while (true)
            {
                var next = file[at..].IndexOf((byte)0xFF);
                if (next < 0 || at + next + 1 >= file.Length)
                {
                    return ends;
                }

                at += next + 1;
                if (file[at] is not (0x00 or (>= 0xD0 and <= 0xD7)))
                {
                    at--;
                    break;
                }
            }
        }
    }

    private static string? Gif(ReadOnlySpan<byte> file)
    {
        const int ScreenDescriptorEnd = 13;
        const int ImageDescriptorLength = 10;
        var at = file.Length < ScreenDescriptorEnd ? file.Length : ScreenDescriptorEnd + GifColourTable(file[10]);
        while (at < file.Length)
        {
            switch (file[at])
            {
                case 0x3B:
                    return null;
                case 0x21:
                    at = GifSkipSubBlocks(file, at + 2);
                    break;
                case 0x2C when at + ImageDescriptorLength <= file.Length:
                    // The descriptor, its local colour table, the LZW minimum code size, then the data sub-blocks.
                    at = GifSkipSubBlocks(file, at + ImageDescriptorLength + GifColourTable(file[at + 9]) + 1);
                    break;
                case 0x2C:
                    at = file.Length;
                    break;
                default:
                    // ImageSharp's decoder skips a byte that starts no block; so does this walk.
                    at++;
                    break;
            }
        }

        return Invariant($"the GIF ends at byte {file.Length}, before its trailer");
    }

    private static int GifColourTable(byte packed) => (packed & 0x80) == 0 ? 0 : 3 << ((packed & 7) + 1);

    /// <returns>Where the sub-blocks' terminator ends; at least the file's length when they run past it.</returns>
    private static int GifSkipSubBlocks(ReadOnlySpan<byte> file, int at)
    {
        while (at < file.Length)
        {
            var size = file[at];
            at += 1 + size;
            if (size == 0)
            {
                return at;
            }
        }

        return Math.Max(at, file.Length);
    }

    private static string? Webp(ReadOnlySpan<byte> file)
    {
        var declared = file.Length < 8 ? 8 : 8L + BinaryPrimitives.ReadUInt32LittleEndian(file[4..]);
        return file.Length < declared ? Invariant($"the WebP ends at byte {file.Length}; its RIFF header declares {declared} bytes") : null;
    }

    private static string? Bmp(ReadOnlySpan<byte> file)
    {
        if (file.Length < 26)
        {
            return null;
        }

        long offset = BinaryPrimitives.ReadUInt32LittleEndian(file[10..]);
        var headerSize = BinaryPrimitives.ReadUInt32LittleEndian(file[14..]);
        long width, height, bitsPerPixel, compression, imageSize;
        if (headerSize == 12)
        {
            // OS/2 1.x: 16-bit sizes, never compressed.
            (width, height, bitsPerPixel, compression, imageSize) = (
                BinaryPrimitives.ReadUInt16LittleEndian(file[18..]), BinaryPrimitives.ReadUInt16LittleEndian(file[20..]), BinaryPrimitives.ReadUInt16LittleEndian(file[24..]), 0, 0);
        }
        else if (headerSize >= 40 && file.Length >= 38)
        {
            (width, height, bitsPerPixel, compression, imageSize) = (
                Math.Abs((long)BinaryPrimitives.ReadInt32LittleEndian(file[18..])),
                Math.Abs((long)BinaryPrimitives.ReadInt32LittleEndian(file[22..])),
                BinaryPrimitives.ReadUInt16LittleEndian(file[28..]),
                BinaryPrimitives.ReadUInt32LittleEndian(file[30..]),
                BinaryPrimitives.ReadUInt32LittleEndian(file[34..]));
        }
        else
        {
            return null;
        }

        // BI_RGB, BI_BITFIELDS and BI_ALPHABITFIELDS are uncompressed rows padded to 4 bytes (OS/2 2.x reads 3 as
        // Huffman: then only the declared image size counts).
        var uncompressed = compression == 0 || (headerSize != 64 && compression is 3 or 6);
        var pixels = uncompressed ? (((width * bitsPerPixel) + 31) / 32 * 4) * height : imageSize;
        var end = offset + pixels;
        return pixels > 0 && end > file.Length ? Invariant($"the BMP ends at byte {file.Length}; its pixels end at byte {end}") : null;
    }

    private static string? Pbm(ReadOnlySpan<byte> file)
    {
        if (file.Length < 2 || file[1] is < (byte)'4' or > (byte)'6')
        {
            return null;
        }

        var kind = file[1];
        var at = 2;
        Span<long> header = stackalloc long[3];
        var fields = kind == '4' ? 2 : 3;
        for (var i = 0; i < fields; i++)
        {
            // Whitespace and '#' comments (to the end of the line) separate the fields.
            while (at < file.Length && (file[at] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n' or 0x0B or 0x0C || file[at] == '#'))
            {
                if (file[at] == '#')
                {
                    var line = file[at..].IndexOfAny((byte)'\n', (byte)'\r');
                    at = line < 0 ? file.Length : at + line;
                }
                else
                {
                    at++;
                }
            }

            long value = 0;
            var start = at;
            while (at < file.Length && file[at] is >= (byte)'0' and <= (byte)'9' && at - start < 12)
            {
                value = (value * 10) + (file[at++] - '0');
            }

            if (at == start)
            {
                // Not the header the decoder reads: it refuses the file itself.
                return null;
            }

            header[i] = value;
        }

        // One whitespace byte separates the header from the raster.
        var (width, height) = (header[0], header[1]);
        var sampleBytes = kind == '4' ? 0 : header[2] > 255 ? 2 : 1;
        var rowBytes = kind switch
        {
            (byte)'4' => (width + 7) / 8,
            (byte)'5' => width * sampleBytes,
            _ => 3 * width * sampleBytes,
        };
        var end = at + 1 + (rowBytes * height);
        return end > file.Length ? Invariant($"the PBM ends at byte {file.Length}; its pixels end at byte {end}") : null;
    }

    private static string? Tga(ReadOnlySpan<byte> file)
    {
        const int Header = 18;
        if (file.Length < Header)
        {
            return null;
        }

        long colourMap = file[1] == 1 ? BinaryPrimitives.ReadUInt16LittleEndian(file[5..]) * ((file[7] + 7L) / 8) : 0;
        long pixels = BinaryPrimitives.ReadUInt16LittleEndian(file[12..]) * (long)BinaryPrimitives.ReadUInt16LittleEndian(file[14..]);
        long pixelBytes = (file[16] + 7) / 8;
        var at = Header + file[0] + colourMap;
        switch (file[2])
        {
            case 1 or 2 or 3:
                at += pixels * pixelBytes;
                break;
            case 9 or 10 or 11:
                // Run-length packets of (low 7 bits + 1) pixels: a header byte, then one pixel value repeated (high bit
                // set) or every pixel's value.
                long done = 0;
                while (done < pixels && at < file.Length)
                {
                    var packet = file[(int)at];
                    at += 1 + ((packet & 0x80) != 0 ? pixelBytes : ((packet & 0x7F) + 1) * pixelBytes);
                    done += (packet & 0x7F) + 1;
                }

                if (done < pixels)
                {
                    return Invariant($"the TGA ends at byte {file.Length}, after {done} of its {pixels} pixels");
                }

                break;
            default:
                return null;
        }

        return at > file.Length ? Invariant($"the TGA ends at byte {file.Length}; its pixels end at byte {at}") : null;
    }

    private static string? Tiff(ReadOnlySpan<byte> file)
    {
        const int Entry = 12;
        var little = file.Length >= 8 && file[0] == 'I';
        if (file.Length < 8 || Number(file, 2, 2, little) != 42)
        {
            return null;
        }

        var directory = Number(file, 4, 4, little);
        if (directory + 2 > file.Length)
        {
            return null;
        }

        // StripOffsets / StripByteCounts, or TileOffsets / TileByteCounts: where each entry's values are.
        (long Type, long Count, long At) offsets = default, counts = default;
        var entries = Number(file, directory, 2, little);
        for (long i = 0, at = directory + 2; i < entries && at + Entry <= file.Length; i++, at += Entry)
        {
            var tag = Number(file, at, 2, little);
            var type = Number(file, at + 2, 2, little);
            var count = Number(file, at + 4, 4, little);
            var size = type switch { 3 => 2, 4 => 4, _ => 0 } * count;
            var values = (type, count, size <= 4 ? at + 8 : Number(file, at + 8, 4, little));
            if (tag is 273 or 324)
            {
                offsets = values;
            }
            else if (tag is 279 or 325)
            {
                counts = values;
            }
        }

        if (offsets.Type is not (3 or 4) || counts.Type is not (3 or 4) || offsets.Count != counts.Count)
        {
            return null;
        }

        var (offsetSize, countSize) = (offsets.Type == 3 ? 2 : 4, counts.Type == 3 ? 2 : 4);
        if (offsets.At + (offsets.Count * offsetSize) > file.Length || counts.At + (counts.Count * countSize) > file.Length)
        {
            return Invariant($"the TIFF ends at byte {file.Length}, inside its directory's strip or tile table");
        }

        long end = 0;
        for (long i = 0; i < offsets.Count; i++)
        {
            end = Math.Max(end, Number(file, offsets.At + (i * offsetSize), offsetSize, little) + Number(file, counts.At + (i * countSize), countSize, little));
        }

        return end > file.Length ? Invariant($"the TIFF ends at byte {file.Length}; its pixels end at byte {end}") : null;
    }

    /// <summary>An unsigned 2- or 4-byte number at <paramref name="at"/>, in the file's byte order.</summary>
    private static long Number(ReadOnlySpan<byte> file, long at, int size, bool little)
    {
        var bytes = file.Slice((int)at, size);
        return size == 2
            ? little ? BinaryPrimitives.ReadUInt16LittleEndian(bytes) : BinaryPrimitives.ReadUInt16BigEndian(bytes)
            : little ? BinaryPrimitives.ReadUInt32LittleEndian(bytes) : BinaryPrimitives.ReadUInt32BigEndian(bytes);
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>The data of a PNG's IDAT chunks as one stream, read in place.</summary>
    private sealed class ChunkDataStream(byte[] file, List<(int Start, int Length)> chunks) : ForwardReadStream
    {
        private int _chunk;
        private int _offset;

        public override int Read(Span<byte> buffer)
        {
            while (_chunk < chunks.Count && _offset == chunks[_chunk].Length)
            {
                (_chunk, _offset) = (_chunk + 1, 0);
            }

            if (_chunk == chunks.Count)
            {
                return 0;
            }

            var (start, length) = chunks[_chunk];
            var count = Math.Min(buffer.Length, length - _offset);
            file.AsSpan(start + _offset, count).CopyTo(buffer);
            _offset += count;
            return count;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Read(buffer.Span));
    }
}

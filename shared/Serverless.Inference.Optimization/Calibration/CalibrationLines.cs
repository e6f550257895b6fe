namespace Serverless.Inference.Optimization.Calibration;

/// <summary>
/// The non-blank lines of a calibration file with their line numbers, each at most <see cref="MaxLineBytes"/> long:
/// a line of images in base64 is large, but a file without newlines must not be read into memory whole.
/// </summary>
internal static class CalibrationLines
{
    public const int MaxLineBytes = 64 << 20;

    public static IEnumerable<(long Line, byte[] Bytes)> Read(Stream stream)
    {
        var line = new MemoryStream();
        var buffer = new byte[1 << 16];
        long number = 1;
        int read;
        while ((read = stream.Read(buffer)) > 0)
        {
            var start = 0;
            for (var i = 0; i < read; i++)
            {
                if (buffer[i] != (byte)'\n')
                {
                    continue;
                }

                Append(line, buffer.AsSpan(start, i - start), number);
                if (Complete(line) is { } bytes)
                {
                    yield return (number, bytes);
                }

                number++;
                start = i + 1;
            }

            Append(line, buffer.AsSpan(start, read - start), number);
        }

        if (Complete(line) is { } last)
        {
            yield return (number, last);
        }
    }

    private static void Append(MemoryStream line, ReadOnlySpan<byte> bytes, long number)
    {
        if (line.Length + bytes.Length > MaxLineBytes)
        {
            throw new OptimizationException($"calibration line {number} is longer than {MaxLineBytes >> 20} MiB");
        }

        line.Write(bytes);
    }

    /// <returns>The line without its carriage return, or null for a blank line; the buffer is emptied.</returns>
    private static byte[]? Complete(MemoryStream line)
    {
        var bytes = line.ToArray();
        line.SetLength(0);
        var text = bytes.AsSpan().TrimEnd("\r"u8);
        return text.Trim(" \t"u8).IsEmpty ? null : text.ToArray();
    }
}

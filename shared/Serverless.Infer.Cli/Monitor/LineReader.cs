namespace Serverless.Infer.Cli.Monitor;

/// <summary>
/// Lines of a stream, read through a buffer that never grows past <see cref="MaxLineBytes"/>: a longer line is skipped
/// to its end and reported as too long, so no object can make the reader allocate what it says.
/// </summary>
internal sealed class LineReader(Stream stream)
{
    public const int MaxLineBytes = 1 << 20;

    private byte[] _buffer = new byte[1 << 16];
    private int _start;
    private int _end;
    private bool _finished;

    /// <summary>The 1-based number of the line the last read returned.</summary>
    public long LineNumber { get; private set; }

    /// <summary>The next line without its end of line, valid until the next call; null at the end of the stream.</summary>
    public async ValueTask<Line?> ReadAsync(CancellationToken cancellationToken)
    {
        var skipping = false;
        while (true)
        {
            var newline = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                var line = new Line(_buffer.AsMemory(_start, TrimCarriageReturn(newline)), skipping);
                _start += newline + 1;
                LineNumber++;
                return line;
            }

            if (_finished)
            {
                if (_start == _end && !skipping)
                {
                    return null;
                }

                var last = new Line(_buffer.AsMemory(_start, _end - _start), skipping);
                _start = _end;
                LineNumber++;
                return last;
            }

            if (_end - _start >= MaxLineBytes)
            {
                skipping = true;
                _start = _end;
            }

            MakeRoom();
            var read = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
            _finished = read == 0;
            _end += read;
        }
    }

    private int TrimCarriageReturn(int length) => length > 0 && _buffer[_start + length - 1] == (byte)'\r' ? length - 1 : length;

    private void MakeRoom()
    {
        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Min(_buffer.Length * 2, MaxLineBytes + 1));
        }
    }

    /// <param name="TooLong">The line ran past <see cref="MaxLineBytes"/>; <paramref name="Bytes"/> holds only its tail.</param>
    internal readonly record struct Line(ReadOnlyMemory<byte> Bytes, bool TooLong);
}

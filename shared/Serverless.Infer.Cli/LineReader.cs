using System.Buffers;
using System.IO.Pipelines;

namespace Serverless.Infer.Cli;

/// <summary>One line of a stream: its number (from 1), a copy of its bytes without the newline, or why it was refused.</summary>
internal readonly record struct Line(long Number, byte[] Bytes, string? Error);

/// <summary>
/// Splits a stream into newline-terminated lines as they arrive (a pipe's read returns what is there, so a line is
/// handed on as soon as its newline is read), with a hard bound on a line's size: a longer line becomes that line's
/// error and its bytes are let go as they stream past, so no input can make the reader hold more than the bound.
/// A last line without a newline counts when the stream ends. A carriage return before the newline is dropped.
/// </summary>
internal sealed class LineReader(Stream stream, int maxLineBytes) : IAsyncDisposable
{
    private readonly PipeReader _pipe = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 1 << 16, leaveOpen: true));
    private long _next = 1;

    /// <summary>The next line, or null at the end of the stream.</summary>
    public async ValueTask<Line?> ReadAsync(CancellationToken cancellationToken)
    {
        var discarding = false;
        while (true)
        {
            var result = await _pipe.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (buffer.PositionOf((byte)'\n') is { } newline)
            {
                var line = discarding ? TooLong() : Take(buffer.Slice(0, newline));
                _pipe.AdvanceTo(buffer.GetPosition(1, newline));
                return line;
            }

            if (result.IsCompleted)
            {
                var last = discarding ? TooLong() : buffer.IsEmpty ? (Line?)null : Take(buffer);
                _pipe.AdvanceTo(buffer.End);
                return last;
            }

            if (buffer.Length > maxLineBytes)
            {
                discarding = true;
                _pipe.AdvanceTo(buffer.End);
                continue;
            }

            _pipe.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    public ValueTask DisposeAsync() => _pipe.CompleteAsync();

    private Line Take(ReadOnlySequence<byte> bytes)
    {
        if (bytes.Length > maxLineBytes)
        {
            return TooLong();
        }

        var copy = bytes.ToArray();
        var length = copy.Length > 0 && copy[^1] == (byte)'\r' ? copy.Length - 1 : copy.Length;
        return new Line(_next++, length == copy.Length ? copy : copy[..length], null);
    }

    private Line TooLong() => new(_next++, [], $"the line is longer than {maxLineBytes} bytes");
}

using System.Buffers;
using System.IO.Pipelines;

namespace Serverless.Inference.Batch;

/// <summary>One input record: its bytes (valid until the next read), or why it was refused.</summary>
internal readonly record struct InputRecord(long Line, ReadOnlyMemory<byte> Bytes, string? Error);

/// <summary>
/// Splits a stream into newline-terminated records with a hard size bound. CSV libraries treat an
/// oversized record as the end of the file and buffer it whole first; here it becomes one row's error,
/// its bytes are skipped as they stream past, and the rest of the file is still scored.
/// </summary>
internal sealed class RecordReader : IAsyncDisposable
{
    private readonly PipeReader _pipe;
    private readonly int _maxRecordBytes;
    private readonly bool _quotedNewlines;
    private byte[] _record = new byte[4096];
    private long _nextLine = 1;
    private bool _atStart = true;

    /// <param name="quotedNewlines">CSV: a newline inside double quotes belongs to the field, not the record's end.</param>
    /// <param name="firstLine">The line number of the stream's first record: a shard of a file counts from where it starts.</param>
    public RecordReader(Stream stream, int maxRecordBytes, bool quotedNewlines, long firstLine = 1)
    {
        _pipe = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 1 << 16, leaveOpen: true));
        _maxRecordBytes = maxRecordBytes;
        _quotedNewlines = quotedNewlines;
        _nextLine = firstLine;
    }

    public long BytesRead { get; private set; }

    public async ValueTask<InputRecord?> ReadAsync(CancellationToken cancellationToken)
    {
        var discarding = false;
        var firstLine = _nextLine;
        var newlinesInRecord = 0L;
        var quotes = new CsvQuotes();
        long scanned = 0;
        while (true)
        {
            var result = await _pipe.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (_atStart)
            {
                // A UTF-8 byte order mark (Excel and some editors write one) is not part of the first record.
                if (buffer.Length < 3 && !result.IsCompleted)
                {
                    _pipe.AdvanceTo(buffer.Start, buffer.End);
                    continue;
                }

                _atStart = false;
                if (StartsWithByteOrderMark(buffer))
                {
                    _pipe.AdvanceTo(buffer.GetPosition(3));
                    BytesRead += 3;
                    continue;
                }
            }

            var end = FindRecordEnd(buffer, scanned, ref quotes, ref newlinesInRecord);
            if (end is { } position)
            {
                var record = buffer.Slice(0, position);
                var length = record.Length;
                var tooLong = discarding || length > _maxRecordBytes;
                // Copy before advancing: the pipe may reuse the memory as soon as it is released.
                var bytes = tooLong ? default : Copy(record);
                _pipe.AdvanceTo(buffer.GetPosition(1, position));
                BytesRead += length + 1;
                _nextLine = firstLine + newlinesInRecord + 1;
                return tooLong ? TooLong(firstLine) : new InputRecord(firstLine, bytes, null);
            }

            if (buffer.Length > _maxRecordBytes)
            {
                // Too long already: let the bytes go instead of holding them until the newline arrives.
                discarding = true;
                BytesRead += buffer.Length;
                _pipe.AdvanceTo(buffer.End);
                scanned = 0;
                if (result.IsCompleted)
                {
                    _nextLine = firstLine + newlinesInRecord + 1;
                    return TooLong(firstLine);
                }

                continue;
            }

            if (result.IsCompleted)
            {
                var last = discarding || buffer.IsEmpty ? default : Copy(buffer);
                _pipe.AdvanceTo(buffer.End);
                BytesRead += buffer.Length;
                if (buffer.IsEmpty && !discarding)
                {
                    return null;
                }

                _nextLine = firstLine + newlinesInRecord + 1;
                return discarding ? TooLong(firstLine) : new InputRecord(firstLine, last, null);
            }

            scanned = buffer.Length;
            _pipe.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    public ValueTask DisposeAsync() => _pipe.CompleteAsync();

    private static bool StartsWithByteOrderMark(ReadOnlySequence<byte> buffer)
    {
        if (buffer.Length < 3)
        {
            return false;
        }

        Span<byte> start = stackalloc byte[3];
        buffer.Slice(0, 3).CopyTo(start);
        return start.SequenceEqual("\uFEFF"u8);
    }

    private InputRecord TooLong(long line) => new(line, ReadOnlyMemory<byte>.Empty, $"record is longer than {_maxRecordBytes} bytes");

    private SequencePosition? FindRecordEnd(ReadOnlySequence<byte> buffer, long from, ref CsvQuotes quotes, ref long newlines)
    {
        var unscanned = buffer.Slice(from);
        if (!_quotedNewlines)
        {
            return unscanned.PositionOf((byte)'\n');
        }

        var offset = from;
        foreach (var segment in unscanned)
        {
            var span = segment.Span;
            for (var i = 0; i < span.Length; i++)
            {
                if (quotes.EndsRecord(span[i], ref newlines))
                {
                    return buffer.GetPosition(offset + i);
                }
            }

            offset += span.Length;
        }

        return null;
    }

    /// <summary>
    /// RFC 4180 quoting across buffer boundaries: a quote opens a quoted field only at the field's start
    /// (a stray quote inside an unquoted field is just a character), and a doubled quote stays inside.
    /// </summary>
    private struct CsvQuotes()
    {
        private bool _inQuotes;
        private bool _atFieldStart = true;
        private bool _justClosed;

        public bool EndsRecord(byte c, ref long newlines)
        {
            if (_inQuotes)
            {
                if (c == (byte)'"')
                {
                    _inQuotes = false;
                    _justClosed = true;
                }
                else if (c == (byte)'\n')
                {
                    newlines++;
                }

                return false;
            }

            if (c == (byte)'"' && (_atFieldStart || _justClosed))
            {
                _inQuotes = true;
                _atFieldStart = _justClosed = false;
                return false;
            }

            _atFieldStart = c == (byte)',';
            _justClosed = false;
            return c == (byte)'\n';
        }
    }

    private ReadOnlyMemory<byte> Copy(ReadOnlySequence<byte> record)
    {
        var length = (int)record.Length;
        if (_record.Length < length)
        {
            _record = new byte[Math.Max(length, _record.Length * 2)];
        }

        record.CopyTo(_record);
        if (length > 0 && _record[length - 1] == (byte)'\r')
        {
            length--;
        }

        return _record.AsMemory(0, length);
    }
}

namespace Serverless.Inference.Tests.Batch.Support;

/// <summary>
/// A read-only, non-seekable stream of <c>prefix</c>, then <c>fillerLength</c> copies of one byte, then
/// <c>suffix</c>, generated as it is read: a gigabyte-long line costs no memory here.
/// </summary>
public sealed class GeneratedStream : Stream
{
    private readonly byte[] _prefix;
    private readonly long _fillerLength;
    private readonly byte _filler;
    private readonly byte[] _suffix;
    private long _position;

    public GeneratedStream(byte[] prefix, long fillerLength, byte filler, byte[] suffix)
    {
        _prefix = prefix;
        _fillerLength = fillerLength;
        _filler = filler;
        _suffix = suffix;
    }

    public long TotalLength => _prefix.Length + _fillerLength + _suffix.Length;

    /// <summary>How many bytes have been read so far.</summary>
    public long Consumed => _position;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var written = 0;
        while (written < buffer.Length && _position < TotalLength)
        {
            var target = buffer[written..];
            int n;
            if (_position < _prefix.Length)
            {
                n = Math.Min(target.Length, _prefix.Length - (int)_position);
                _prefix.AsSpan((int)_position, n).CopyTo(target);
            }
            else if (_position < _prefix.Length + _fillerLength)
            {
                n = (int)Math.Min(target.Length, _prefix.Length + _fillerLength - _position);
                target[..n].Fill(_filler);
            }
            else
            {
                var at = (int)(_position - _prefix.Length - _fillerLength);
                n = Math.Min(target.Length, _suffix.Length - at);
                _suffix.AsSpan(at, n).CopyTo(target);
            }

            written += n;
            _position += n;
        }

        return written;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return new ValueTask<int>(Read(buffer.Span));
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

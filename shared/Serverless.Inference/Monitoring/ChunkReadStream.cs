namespace Serverless.Inference.Monitoring;

/// <summary>
/// A read-only, seekable stream over equal-sized chunks, so a store can learn the length and re-read from the start
/// (SDK retries) without the chunks being copied into one array.
/// </summary>
internal sealed class ChunkReadStream(IReadOnlyList<byte[]> chunks, int length) : Stream
{
    private long _position;

    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => length;

    public override long Position
    {
        get => _position;
        set => _position = value is >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value));
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var read = 0;
        while (read < buffer.Length && _position < length)
        {
            var chunk = chunks[(int)(_position / CaptureBuffer.ChunkBytes)];
            var offset = (int)(_position % CaptureBuffer.ChunkBytes);
            var count = (int)Math.Min(Math.Min(buffer.Length - read, CaptureBuffer.ChunkBytes - offset), length - _position);
            chunk.AsSpan(offset, count).CopyTo(buffer[read..]);
            read += count;
            _position += count;
        }

        return read;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        cancellationToken.IsCancellationRequested ? ValueTask.FromCanceled<int>(cancellationToken) : ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
    {
        SeekOrigin.Begin => offset,
        SeekOrigin.Current => _position + offset,
        _ => length + offset,
    };

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

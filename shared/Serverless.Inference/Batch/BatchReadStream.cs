using System.Runtime.ExceptionServices;

namespace Serverless.Inference.Batch;

/// <summary>
/// A read-only stream over a store's download that keeps the store's promises while it is read: a failure of the
/// transport mid-read comes out as the store's exception (<paramref name="translate"/>), and the end of the stream is
/// checked (<paramref name="atEnd"/>: the bytes seen were the pinned object's) before the reader is told it is done.
/// </summary>
/// <param name="translate">Maps a read failure to the exception to throw, or null to let it through (cancellation).</param>
/// <param name="observe">Sees every chunk read, in order (a hash of the content, say).</param>
/// <param name="atEnd">Runs once, when a read first returns 0; throws when the content was not the pinned object's.</param>
public sealed class BatchReadStream(
    Stream inner,
    Func<Exception, Exception?> translate,
    Action<ReadOnlyMemory<byte>>? observe = null,
    Func<CancellationToken, ValueTask>? atEnd = null,
    IDisposable? owner = null) : Stream
{
    private bool _ended;

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
        var rented = new byte[buffer.Length];
        var read = ReadAsync(rented, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        rented.AsSpan(0, read).CopyTo(buffer);
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        int read;
        try
        {
            read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (translate(e) is { } translated && !ReferenceEquals(translated, e))
        {
            ExceptionDispatchInfo.Throw(translated);
            throw;
        }

        if (read > 0)
        {
            observe?.Invoke(buffer[..read]);
        }
        else if (buffer.Length > 0 && !_ended)
        {
            _ended = true;
            if (atEnd is not null)
            {
                await atEnd(cancellationToken).ConfigureAwait(false);
            }
        }

        return read;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
            owner?.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync().ConfigureAwait(false);
        owner?.Dispose();
        await base.DisposeAsync().ConfigureAwait(false);
    }
}

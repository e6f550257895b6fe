using Serverless.Inference.Streams;

namespace Serverless.Inference.Protocol;

/// <summary>A read-only view of a stream that fails once more than <c>limit</c> bytes have come through it.</summary>
internal sealed class CappedReadStream(Stream inner, long limit, Func<long, Exception> tooLarge) : ForwardReadStream
{
    private long _read;

    public override long Position
    {
        get => _read;
        set => throw new NotSupportedException();
    }

    public override int Read(Span<byte> buffer) => Count(inner.Read(buffer));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Count(await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false));

    private int Count(int read)
    {
        _read += read;
        return _read > limit ? throw tooLarge(_read) : read;
    }
}

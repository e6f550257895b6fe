using Microsoft.AspNetCore.Http;

namespace Serverless.Inference.AspNetCore;

/// <summary>
/// The request body as the core reads it, with the server's own verdicts on the framing turned into the core's errors:
/// a malformed chunk is a 400, a body arriving too slowly a 408, a body over the server's limit a 413. Without this
/// they surface as an <see cref="IOException"/> the core cannot tell from a fault of its own, and become a 500.
/// </summary>
internal sealed class TransportErrorStream(Stream inner) : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count)
    {
        try
        {
            return inner.Read(buffer, offset, count);
        }
        catch (BadHttpRequestException e)
        {
            throw Translate(e);
        }
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            return await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (BadHttpRequestException e)
        {
            throw Translate(e);
        }
        catch (IOException e) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("the client went away while sending the body", e, cancellationToken);
        }
        catch (IOException e)
        {
            // The connection failed mid-body (a reset, say): the client's side, never a fault of the server's.
            throw new InferenceException(InferenceErrorKind.BadRequest, $"the request body could not be read: {e.Message}", e);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    private static InferenceException Translate(BadHttpRequestException e) => e.StatusCode switch
    {
        StatusCodes.Status408RequestTimeout => new(InferenceErrorKind.RequestTimeout, $"the request body did not arrive in time: {e.Message}", e),
        StatusCodes.Status413PayloadTooLarge => new(InferenceErrorKind.PayloadTooLarge, $"the request body is too large: {e.Message}", e),
        _ => new(InferenceErrorKind.BadRequest, $"the request body is malformed: {e.Message}", e),
    };
}

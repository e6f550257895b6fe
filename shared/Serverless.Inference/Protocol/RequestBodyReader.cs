using System.Buffers;
using System.Globalization;
using System.IO.Compression;

namespace Serverless.Inference.Protocol;

/// <summary>
/// Reads a request body into one pooled buffer, undoing its <c>Content-Encoding</c> (gzip, deflate as zlib, identity).
/// The limit is on the decoded size and is enforced while decoding, so a small body that inflates without end is refused
/// after inflating just past the limit; nothing is allocated from a size the caller declares.
/// </summary>
internal static class RequestBodyReader
{
    private const int InitialBytes = 16 * 1024;

    public static async Task<(byte[] Buffer, int Length)> ReadAsync(OipHttpRequest request, int limit, CancellationToken cancellationToken)
    {
        var coding = ContentCodings.OfRequest(request.GetHeader("Content-Encoding"));
        if (request.ContentLength > limit)
        {
            throw TooLarge(limit, request.ContentLength.Value, coding);
        }

        if (coding == ContentCoding.Identity)
        {
            return await ReadAllAsync(request.Body, limit, (int)Math.Min(request.ContentLength ?? InitialBytes, limit), coding, cancellationToken).ConfigureAwait(false);
        }

        // The body as sent is held to the limit too: a stream of empty gzip members would otherwise be read forever.
        var sent = new CappedReadStream(request.Body, limit, size => TooLarge(limit, size, ContentCoding.Identity));
        Stream decoder = coding == ContentCoding.Gzip
            ? new GZipStream(sent, CompressionMode.Decompress, leaveOpen: true)
            : new ZLibStream(sent, CompressionMode.Decompress, leaveOpen: true);
        await using (decoder.ConfigureAwait(false))
        {
            try
            {
                return await ReadAllAsync(decoder, limit, InitialBytes, coding, cancellationToken).ConfigureAwait(false);
            }
            catch (InvalidDataException e)
            {
                throw new InferenceException(InferenceErrorKind.BadRequest, $"the request body is not valid {coding.Name()} data (Content-Encoding: {coding.Name()})", e);
            }
        }
    }

    private static async Task<(byte[] Buffer, int Length)> ReadAllAsync(Stream body, int limit, int initial, ContentCoding coding, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(initial + 1);
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, limit + 1));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                var read = await body.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    return (buffer, length);
                }

                length += read;
                if (length > limit)
                {
                    throw TooLarge(limit, length, coding);
                }
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    private static InferenceException TooLarge(int limit, long size, ContentCoding coding)
    {
        var what = coding == ContentCoding.Identity ? "the request body" : "the request body once decompressed";
        var measured = size > limit ? $"over {limit}" : size.ToString(CultureInfo.InvariantCulture);
        return new InferenceException(InferenceErrorKind.PayloadTooLarge, $"{what} ({measured} bytes) is larger than the limit of {limit} bytes");
    }
}

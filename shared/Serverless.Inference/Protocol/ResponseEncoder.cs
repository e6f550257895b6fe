using System.IO.Compression;

namespace Serverless.Inference.Protocol;

/// <summary>
/// Compresses a response as its <c>Accept-Encoding</c> asks. Headers such as Inference-Header-Content-Length keep
/// describing the uncompressed body, which is what a client has once it has undone the coding.
/// </summary>
internal static class ResponseEncoder
{
    /// <summary>Smaller bodies go as they are: below about a kilobyte the coding's framing and the CPU cost outweigh the saving.</summary>
    public const int MinBytes = 1024;

    public const string VaryHeader = "Vary";

    public const string ContentEncodingHeader = "Content-Encoding";

    public static OipHttpResponse Encode(OipHttpResponse response, string? acceptEncoding)
    {
        if (response.Body.Length < MinBytes)
        {
            return response;
        }

        var coding = ContentCodings.Negotiate(acceptEncoding);
        List<KeyValuePair<string, string>> headers = [.. response.Headers, new(VaryHeader, "Accept-Encoding")];
        if (coding == ContentCoding.Identity)
        {
            return response.WithHeaders(headers);
        }

        using var compressed = new MemoryStream(response.Body.Length / 2);
        using (Stream encoder = coding == ContentCoding.Gzip
            ? new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true)
            : new ZLibStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            encoder.Write(response.Body.Span);
        }

        var body = new PooledBufferWriter((int)compressed.Length);
        body.Write(compressed.GetBuffer().AsSpan(0, (int)compressed.Length));
        headers.Add(new(ContentEncodingHeader, coding.Name()));
        var encoded = response.With(body, headers);
        response.Dispose();
        return encoded;
    }
}

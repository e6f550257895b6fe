namespace Serverless.Inference.Protocol;

/// <summary>An HTTP request as every transport can describe it: Kestrel, Azure Functions, API Gateway events.</summary>
/// <param name="Path">The path after any stage or base prefix, starting with <c>/v2</c>; percent-escapes left as sent.</param>
/// <param name="GetHeader">A case-insensitive header lookup.</param>
/// <param name="ContentLength">The declared body length, when the transport knows it.</param>
public sealed record OipHttpRequest(string Method, string Path, Func<string, string?> GetHeader, Stream Body, long? ContentLength);

/// <summary>A response ready to send. Owns a pooled body buffer: dispose it after sending.</summary>
public sealed class OipHttpResponse : IDisposable
{
    private PooledBufferWriter? _owner;

    internal OipHttpResponse(int statusCode, string contentType, PooledBufferWriter? body, IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        StatusCode = statusCode;
        ContentType = contentType;
        _owner = body;
        Headers = headers;
    }

    public int StatusCode { get; }

    public string ContentType { get; }

    /// <summary>Headers besides Content-Type, such as Inference-Header-Content-Length.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; }

    public ReadOnlyMemory<byte> Body => _owner?.WrittenMemory ?? ReadOnlyMemory<byte>.Empty;

    public void Dispose() => _owner?.Dispose();

    /// <summary>The same answer with other headers, taking over this one's body (this one is left empty).</summary>
    internal OipHttpResponse WithHeaders(IReadOnlyList<KeyValuePair<string, string>> headers) => With(TakeBody(), headers);

    internal OipHttpResponse With(PooledBufferWriter? body, IReadOnlyList<KeyValuePair<string, string>> headers) =>
        new(StatusCode, ContentType, body, headers);

    internal PooledBufferWriter? TakeBody()
    {
        var body = _owner;
        _owner = null;
        return body;
    }
}

public static class OipHeaders
{
    /// <summary>The binary tensor data extension's header: the length of the JSON part of the body.</summary>
    public const string InferenceHeaderContentLength = "Inference-Header-Content-Length";

    public const string Json = "application/json";

    internal const string Binary = "application/octet-stream";
}

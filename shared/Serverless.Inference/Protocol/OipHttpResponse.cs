namespace Serverless.Inference.Protocol;

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

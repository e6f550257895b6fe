namespace Serverless.Inference.Protocol;

public sealed class RequestLimits
{
    /// <summary>Lambda's synchronous payload limit, and a sane default elsewhere.</summary>
    public const int DefaultMaxRequestBytes = 6 * 1024 * 1024;

    /// <summary>
    /// Larger bodies are refused with 413 before they are read. A compressed body is held to it twice: as sent, and as
    /// decompressed, which is stopped as soon as it passes the limit.
    /// </summary>
    public int MaxRequestBytes { get; set; } = DefaultMaxRequestBytes;

    /// <summary>JSON nesting deeper than this is refused; real tensors need a depth of the rank plus three.</summary>
    public int MaxJsonDepth { get; set; } = 32;

    /// <summary>
    /// Whether <c>POST /v2/repository/models/{m}/load</c> and <c>/unload</c> act. Off by default: on a cloud host each
    /// instance loads on first use and releases under memory pressure, and a call would reach one instance of many.
    /// </summary>
    public bool ModelControl { get; set; }
}

namespace Serverless.Inference.Protocol;

public sealed class RequestLimits
{
    /// <summary>Lambda's synchronous payload limit, and a sane default elsewhere.</summary>
    public const int DefaultMaxRequestBytes = 6 * 1024 * 1024;

    /// <summary>Larger bodies are refused with 413 before they are read.</summary>
    public int MaxRequestBytes { get; set; } = DefaultMaxRequestBytes;

    /// <summary>JSON nesting deeper than this is refused; real tensors need a depth of the rank plus three.</summary>
    public int MaxJsonDepth { get; set; } = 32;
}

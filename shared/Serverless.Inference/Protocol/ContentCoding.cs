namespace Serverless.Inference.Protocol;

/// <summary>The HTTP content codings served, in both directions. Deflate means the zlib format (RFC 9110 8.4.1.2).</summary>
internal enum ContentCoding
{
    Identity,
    Gzip,
    Deflate,
}

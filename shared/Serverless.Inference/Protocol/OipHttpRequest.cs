namespace Serverless.Inference.Protocol;

/// <summary>An HTTP request as every transport can describe it: Kestrel, Azure Functions, API Gateway events.</summary>
/// <param name="Path">The path after any stage or base prefix, starting with <c>/v2</c>; percent-escapes left as sent.</param>
/// <param name="GetHeader">A case-insensitive header lookup.</param>
/// <param name="ContentLength">The declared body length, when the transport knows it.</param>
public sealed record OipHttpRequest(string Method, string Path, Func<string, string?> GetHeader, Stream Body, long? ContentLength);

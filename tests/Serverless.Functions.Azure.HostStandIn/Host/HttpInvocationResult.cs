namespace Serverless.Functions.Azure.HostStandIn.Host;

/// <summary>
/// One proxied HTTP invocation: the worker's HTTP answer and the outcome of the InvocationRequest sent beside it
/// (<c>Success</c>, <c>Failure</c> or <c>Cancelled</c>, and the worker's exception message on failure).
/// </summary>
internal sealed record HttpInvocationResult(int StatusCode, string ContentType, string Body, string InvocationStatus, string? InvocationError);

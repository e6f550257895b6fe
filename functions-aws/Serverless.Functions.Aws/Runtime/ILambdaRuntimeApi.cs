namespace Serverless.Functions.Aws.Runtime;

/// <summary>
/// The Lambda Runtime API (2018-06-01) as the bootstrap loop needs it. Every call throws
/// <see cref="LambdaRuntimeApiException"/> when the API answers with anything but success.
/// </summary>
internal interface ILambdaRuntimeApi
{
    /// <summary>Waits (long poll) for the next invocation.</summary>
    Task<LambdaInvocation> NextAsync(CancellationToken cancellationToken);

    Task PostResponseAsync(string requestId, ReadOnlyMemory<byte> response, CancellationToken cancellationToken);

    Task PostErrorAsync(string requestId, LambdaError error, CancellationToken cancellationToken);

    Task PostInitErrorAsync(LambdaError error, CancellationToken cancellationToken);
}

/// <summary>One invocation as <c>/runtime/invocation/next</c> hands it over.</summary>
/// <param name="Deadline">From <c>Lambda-Runtime-Deadline-Ms</c>; null when the header is missing or unreadable.</param>
internal sealed record LambdaInvocation(
    string RequestId,
    DateTimeOffset? Deadline,
    string? FunctionArn,
    string? TraceId,
    string? ClientContext,
    string? CognitoIdentity,
    ReadOnlyMemory<byte> Event);

/// <summary>The Runtime API refused a call; <see cref="StatusCode"/> tells the loop whether it may go on.</summary>
internal sealed class LambdaRuntimeApiException(int statusCode, string message) : Exception(message)
{
    public int StatusCode { get; } = statusCode;

    /// <summary>403 (the invocation was already answered, or the runtime is in a state it may not leave) and 5xx end the process.</summary>
    public bool IsFatal => StatusCode is 403 or >= 500;
}

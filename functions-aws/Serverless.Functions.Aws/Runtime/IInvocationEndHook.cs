namespace Serverless.Functions.Aws.Runtime;

/// <summary>
/// Work that must finish before the runtime asks for the next event, because Lambda may freeze the process as soon
/// as it does (metrics in Embedded Metric Format, buffered prediction capture). Runs after the invocation's answer
/// was posted, so it never delays the caller.
/// </summary>
internal interface IInvocationEndHook
{
    /// <summary>Must not throw for its own failures: log and count them. Cancelled only when the process stops.</summary>
    Task OnInvocationEndAsync(LambdaInvocation invocation, CancellationToken cancellationToken);
}

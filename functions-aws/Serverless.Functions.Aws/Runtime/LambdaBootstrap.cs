using Microsoft.Extensions.Logging;
using Serverless.Functions.Aws.Telemetry;

namespace Serverless.Functions.Aws.Runtime;

/// <summary>Handles one invocation's event and returns the response document.</summary>
internal interface ILambdaHandler
{
    Task<ReadOnlyMemory<byte>> HandleAsync(LambdaInvocation invocation, CancellationToken cancellationToken);
}

/// <summary>
/// The custom runtime's loop: initialise once (a failure goes to <c>/runtime/init/error</c> and ends the process),
/// then next → handle → response or error, forever. A handler exception is reported and the loop goes on;
/// a 403 or 5xx from the Runtime API, or losing it, ends the process with a non-zero code.
/// After each answer, the <see cref="IInvocationEndHook"/>s run before the next event is asked for.
/// </summary>
internal sealed partial class LambdaBootstrap(
    ILambdaRuntimeApi api, TimeProvider time, ILogger<LambdaBootstrap> logger, IReadOnlyList<IInvocationEndHook>? endHooks = null)
{
    public const string TraceIdVariable = "_X_AMZN_TRACE_ID";

    /// <summary>Time kept back from the deadline, so a cancelled handler can still post its answer.</summary>
    public static readonly TimeSpan DeadlineMargin = TimeSpan.FromMilliseconds(100);

    public const int InitFailedExitCode = 1;
    public const int RuntimeApiFailedExitCode = 2;

    public async Task<int> RunAsync(Func<CancellationToken, Task<ILambdaHandler>> initialize, CancellationToken stopping)
    {
        ArgumentNullException.ThrowIfNull(initialize);
        ILambdaHandler handler;
        try
        {
            handler = await initialize(stopping).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Whatever stops initialisation is reported to Lambda, which shows it to the user.
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogInitFailed(logger, e, e.Message);
            try
            {
                await api.PostInitErrorAsync(LambdaError.FromException(e), stopping).ConfigureAwait(false);
            }
            catch (Exception post) when (post is LambdaRuntimeApiException or HttpRequestException)
            {
                LogInitErrorNotReported(logger, post);
            }

            return InitFailedExitCode;
        }

        while (!stopping.IsCancellationRequested)
        {
            LambdaInvocation invocation;
            try
            {
                invocation = await api.NextAsync(stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is LambdaRuntimeApiException or HttpRequestException)
            {
                LogNextFailed(logger, e);
                return RuntimeApiFailedExitCode;
            }

            var answered = await InvokeAsync(handler, invocation, stopping).ConfigureAwait(false);
            await RunEndHooksAsync(invocation, stopping).ConfigureAwait(false);
            if (!answered)
            {
                return RuntimeApiFailedExitCode;
            }
        }

        return 0;
    }

    /// <returns>False when the Runtime API answered in a way that ends the process.</returns>
    private async Task<bool> InvokeAsync(ILambdaHandler handler, LambdaInvocation invocation, CancellationToken stopping)
    {
        Environment.SetEnvironmentVariable(TraceIdVariable, invocation.TraceId);
        using var scope = InvocationScope.Enter(invocation);
        var remaining = invocation.Deadline is { } deadline
            ? deadline - time.GetUtcNow() - DeadlineMargin
            : Timeout.InfiniteTimeSpan;
        using var timeout = remaining == Timeout.InfiniteTimeSpan
            ? new CancellationTokenSource()
            : new CancellationTokenSource(remaining < TimeSpan.Zero ? TimeSpan.Zero : remaining, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, stopping);
        try
        {
            ReadOnlyMemory<byte> response;
            try
            {
                response = await handler.HandleAsync(invocation, linked.Token).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // A handler failure is the invocation's error, never the loop's end.
            catch (Exception e)
#pragma warning restore CA1031
            {
                LogInvocationFailed(logger, e, invocation.RequestId, e.Message);
                await api.PostErrorAsync(invocation.RequestId, LambdaError.FromException(e), stopping).ConfigureAwait(false);
                return true;
            }

            try
            {
                await api.PostResponseAsync(invocation.RequestId, response, stopping).ConfigureAwait(false);
            }
            catch (LambdaRuntimeApiException e) when (e.StatusCode == 413)
            {
                LogResponseTooLarge(logger, invocation.RequestId, response.Length);
                var error = new LambdaError("Function.ResponseSizeTooLarge", $"the response of {response.Length} bytes is over Lambda's limit", []);
                await api.PostErrorAsync(invocation.RequestId, error, stopping).ConfigureAwait(false);
            }

            return true;
        }
        catch (LambdaRuntimeApiException e) when (!e.IsFatal)
        {
            // 400: the id is unknown to the API (the invocation timed out, say); nothing to answer any more.
            LogAnswerRefused(logger, e, invocation.RequestId);
            return true;
        }
        catch (Exception e) when (e is LambdaRuntimeApiException or HttpRequestException)
        {
            LogAnswerRefusedExiting(logger, e, invocation.RequestId);
            return false;
        }
    }

    private async Task RunEndHooksAsync(LambdaInvocation invocation, CancellationToken stopping)
    {
        foreach (var hook in endHooks ?? [])
        {
            try
            {
                await hook.OnInvocationEndAsync(invocation, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // A hook's failure is logged; it never ends the loop or reaches the caller.
            catch (Exception e)
#pragma warning restore CA1031
            {
                LogEndHookFailed(logger, e, hook.GetType().Name, invocation.RequestId);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Critical, Message = "Initialisation failed: {Message}")]
    private static partial void LogInitFailed(ILogger logger, Exception exception, string message);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not report the initialisation error")]
    private static partial void LogInitErrorNotReported(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Critical, Message = "The Runtime API failed to hand over the next invocation; exiting")]
    private static partial void LogNextFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Invocation {RequestId} failed: {Message}")]
    private static partial void LogInvocationFailed(ILogger logger, Exception exception, string requestId, string message);

    [LoggerMessage(Level = LogLevel.Error, Message = "Invocation {RequestId}: the response of {Bytes} bytes is over the Runtime API's limit")]
    private static partial void LogResponseTooLarge(ILogger logger, string requestId, int bytes);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The Runtime API refused the answer to {RequestId}")]
    private static partial void LogAnswerRefused(ILogger logger, Exception exception, string requestId);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Hook} failed after invocation {RequestId}")]
    private static partial void LogEndHookFailed(ILogger logger, Exception exception, string hook, string requestId);

    [LoggerMessage(Level = LogLevel.Critical, Message = "The Runtime API refused the answer to {RequestId}; exiting")]
    private static partial void LogAnswerRefusedExiting(ILogger logger, Exception exception, string requestId);
}

using System.Globalization;
using System.Security.Cryptography;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Serverless.Inference.Protocol;

namespace Serverless.Inference.Grpc;

/// <summary>
/// <see cref="InferenceErrorKind"/> as gRPC status codes, with REST's rule for what a caller may see: a server-side
/// failure, or one whose detail is for the operator, is logged under a fresh error id that the caller's message carries.
/// </summary>
internal sealed partial class GrpcErrors(ILogger<GrpcErrors> logger)
{
    /// <summary>How long a refused caller should wait, as gRPC's retry pushback (REST sends Retry-After: 1).</summary>
    public const string RetryPushbackTrailer = "grpc-retry-pushback-ms";

    public async Task<T> AnswerAsync<T>(ServerCallContext context, Func<CancellationToken, Task<T>> answer)
    {
        try
        {
            return await answer(context.CancellationToken).ConfigureAwait(false);
        }
        catch (InferenceException e)
        {
            var status = StatusOf(e.Kind, context);
            var trailers = new Metadata();
            if (e.Kind == InferenceErrorKind.TooManyRequests)
            {
                trailers.Add(RetryPushbackTrailer, "1000");
            }

            throw new RpcException(new Status(status, CallerMessage(e, context, status)), trailers);
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusOf(InferenceErrorKind.Cancelled, context), "the call was cancelled or ran past its deadline"));
        }
        catch (Exception e) when (e is not RpcException)
        {
            var errorId = NewErrorId();
            LogUnhandled(logger, e, context.Method, errorId);
            throw new RpcException(new Status(StatusCode.Internal, $"internal error (error id {errorId}); the server log has the details"));
        }
    }

    /// <summary>
    /// PayloadTooLarge is ResourceExhausted: that is what gRPC itself answers for a message over the receive limit, so
    /// a caller sees one code for "too big" whichever layer noticed. TooManyRequests is Unavailable, the code gRPC
    /// clients' retry policies retry by default, with a pushback trailer as the hint. A cancellation is
    /// DeadlineExceeded when the call's deadline has passed, Cancelled when the caller gave up.
    /// </summary>
    public static StatusCode StatusOf(InferenceErrorKind kind, ServerCallContext context) => kind switch
    {
        InferenceErrorKind.BadRequest or InferenceErrorKind.UnsupportedMediaType => StatusCode.InvalidArgument,
        InferenceErrorKind.NotFound => StatusCode.NotFound,
        InferenceErrorKind.MethodNotAllowed => StatusCode.Unimplemented,
        InferenceErrorKind.PayloadTooLarge => StatusCode.ResourceExhausted,
        InferenceErrorKind.RequestTimeout => StatusCode.DeadlineExceeded,
        InferenceErrorKind.TooManyRequests or InferenceErrorKind.Unavailable => StatusCode.Unavailable,
        InferenceErrorKind.Cancelled => context.Deadline <= DateTime.UtcNow ? StatusCode.DeadlineExceeded : StatusCode.Cancelled,
        _ => StatusCode.Internal,
    };

    /// <summary>Logs an answer's reason that is not sent as an error status (a "not ready"), as REST logs it.</summary>
    public void Describe(InferenceException e, ServerCallContext context) => CallerMessage(e, context, StatusOf(e.Kind, context));

    private string CallerMessage(InferenceException e, ServerCallContext context, StatusCode status)
    {
        var serverSide = OpenInferenceHandler.StatusOf(e.Kind) >= 500;
        if (!serverSide && e.Detail is null)
        {
            return e.Message;
        }

        var errorId = NewErrorId();
        LogRefused(logger, serverSide ? LogLevel.Warning : LogLevel.Information, e.InnerException, context.Method, status, errorId, e.Message, e.Detail ?? e.InnerException?.Message);
        return string.Create(CultureInfo.InvariantCulture, $"{e.Message} (error id {errorId})");
    }

    private static string NewErrorId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));

    [LoggerMessage(Message = "{Method} answered {Status} (error id {ErrorId}): {Message}; {Detail}")]
    private static partial void LogRefused(ILogger logger, LogLevel level, Exception? exception, string method, StatusCode status, string errorId, string message, string? detail);

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled error on {Method} (error id {ErrorId})")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string method, string errorId);
}

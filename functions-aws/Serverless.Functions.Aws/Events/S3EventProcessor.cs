using System.Net;
using Microsoft.Extensions.Logging;
using Serverless.Inference.Batch;

namespace Serverless.Functions.Aws.Events;

internal enum RecordResult
{
    /// <summary>Scored, already scored, set aside under failed/, or refused: redelivering it would change nothing.</summary>
    Done,

    /// <summary>The file failed and is worth another delivery.</summary>
    Retry,
}

/// <summary>
/// Runs the batch contract for S3 "object created" records of the function's own bucket under incoming/.
/// Anything else is refused and logged, never scored: a foreign bucket, another prefix, a removal.
/// </summary>
internal sealed partial class S3EventProcessor(BatchJobRunner runner, string bucket, ILogger<S3EventProcessor> logger)
{
    /// <param name="deadline">The invocation's deadline: a run it stops counts as an attempt.</param>
    public async Task<RecordResult> ProcessAsync(S3EventRecord record, DateTimeOffset? deadline, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.EventSource != "aws:s3" || record.S3?.Bucket?.Name is not { } recordBucket || record.S3.Object?.Key is not { } encodedKey)
        {
            LogIncomplete(logger, record.EventName);
            return RecordResult.Done;
        }

        if (record.EventName is null || !record.EventName.StartsWith("ObjectCreated:", StringComparison.Ordinal))
        {
            LogIgnored(logger, record.EventName, encodedKey);
            return RecordResult.Done;
        }

        if (!string.Equals(recordBucket, bucket, StringComparison.Ordinal))
        {
            LogForeignBucket(logger, encodedKey, recordBucket, bucket);
            return RecordResult.Done;
        }

        // Keys in S3 events are URL-encoded, form style ('+' is a space).
        var key = WebUtility.UrlDecode(encodedKey);
        if (!key.StartsWith(LambdaContract.IncomingPrefix, StringComparison.Ordinal))
        {
            LogOutsidePrefix(logger, key, LambdaContract.IncomingPrefix);
            return RecordResult.Done;
        }

        try
        {
            var outcome = await runner.ProcessAsync(key, deadline, cancellationToken).ConfigureAwait(false);
            return outcome.Kind == BatchOutcomeKind.WillRetry ? RecordResult.Retry : RecordResult.Done;
        }
#pragma warning disable CA1031 // One record's failure (the host shutting down, a bug) must not fail the records beside it.
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogNotProcessed(logger, e, key, e.Message);
            return RecordResult.Retry;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused an S3 record without a source, bucket or key: {EventName}")]
    private static partial void LogIncomplete(ILogger logger, string? eventName);

    [LoggerMessage(Level = LogLevel.Information, Message = "Ignored {EventName} for {Key}")]
    private static partial void LogIgnored(ILogger logger, string? eventName, string key);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused {Key}: bucket {Bucket} is not this function's bucket {OwnBucket}")]
    private static partial void LogForeignBucket(ILogger logger, string key, string bucket, string ownBucket);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused {Key}: only keys under {Prefix} are scored")]
    private static partial void LogOutsidePrefix(ILogger logger, string key, string prefix);

    [LoggerMessage(Level = LogLevel.Error, Message = "Batch input {Key} could not be processed and will be retried: {Message}")]
    private static partial void LogNotProcessed(ILogger logger, Exception exception, string key, string message);
}

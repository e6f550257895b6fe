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
internal sealed class S3EventProcessor(BatchJobRunner runner, string bucket, ILogger<S3EventProcessor> logger)
{
    /// <param name="deadline">The invocation's deadline: a run it stops counts as an attempt.</param>
    public async Task<RecordResult> ProcessAsync(S3EventRecord record, DateTimeOffset? deadline, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.EventSource != "aws:s3" || record.S3?.Bucket?.Name is not { } recordBucket || record.S3.Object?.Key is not { } encodedKey)
        {
            logger.LogWarning("Refused an S3 record without a source, bucket or key: {EventName}", record.EventName);
            return RecordResult.Done;
        }

        if (record.EventName is null || !record.EventName.StartsWith("ObjectCreated:", StringComparison.Ordinal))
        {
            logger.LogInformation("Ignored {EventName} for {Key}", record.EventName, encodedKey);
            return RecordResult.Done;
        }

        if (!string.Equals(recordBucket, bucket, StringComparison.Ordinal))
        {
            logger.LogWarning("Refused {Key}: bucket {Bucket} is not this function's bucket {OwnBucket}", encodedKey, recordBucket, bucket);
            return RecordResult.Done;
        }

        // Keys in S3 events are URL-encoded, form style ('+' is a space).
        var key = WebUtility.UrlDecode(encodedKey);
        if (!key.StartsWith(LambdaContract.IncomingPrefix, StringComparison.Ordinal))
        {
            logger.LogWarning("Refused {Key}: only keys under {Prefix} are scored", key, LambdaContract.IncomingPrefix);
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
            logger.LogError(e, "Batch input {Key} could not be processed and will be retried: {Message}", key, e.Message);
            return RecordResult.Retry;
        }
    }
}

using Microsoft.Extensions.Logging;
using Serverless.Functions.Aws.Queues;
using Serverless.Inference.Batch.Sharding;

namespace Serverless.Functions.Aws.Events;

/// <summary>Scores one shard message: the core's shard runner behind an interface the dispatcher's tests can stand in for.</summary>
internal interface IShardProcessor
{
    Task<ShardOutcome> ProcessAsync(string messageBody, DateTimeOffset? deadline, CancellationToken cancellationToken);
}

/// <summary>
/// One SQS record from the shard queue → the shard runner, and its outcome → what the event source mapping should do:
/// acknowledge it, or report it in <c>batchItemFailures</c> so SQS delivers it again. A message the runner says to
/// dead-letter is sent to the shard dead-letter queue here, with its reason, and acknowledged: SQS's own redrive would
/// only move it after several useless deliveries, and without saying why.
/// </summary>
internal sealed partial class ShardRecordProcessor(IShardProcessor runner, SqsQueueAddress shardQueue, SqsDeadLetterQueue deadLetters, ILogger<ShardRecordProcessor> logger)
{
    /// <summary>Whether an SQS record's event source is the shard queue.</summary>
    public bool IsShardQueue(string? eventSourceArn) => shardQueue.IsArn(eventSourceArn);

    public async Task<RecordResult> ProcessAsync(SqsMessage message, DateTimeOffset? deadline, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        ShardOutcome outcome;
        try
        {
            outcome = await runner.ProcessAsync(message.Body ?? string.Empty, deadline, cancellationToken).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // One message's failure (the host shutting down, a bug) must not fail the messages beside it.
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogNotProcessed(logger, e, message.MessageId, e.Message);
            return RecordResult.Retry;
        }

        switch (outcome.Kind)
        {
            case ShardOutcomeKind.Scored:
                LogScored(logger, message.MessageId, outcome.Merged is { } merged ? "; merged into " + merged : string.Empty);
                return RecordResult.Done;
            case ShardOutcomeKind.AlreadyDone:
                LogNothingLeft(logger, message.MessageId);
                return RecordResult.Done;
            case ShardOutcomeKind.JobFailed:
                LogJobFailed(logger, message.MessageId, outcome.Error);
                return RecordResult.Done;
            case ShardOutcomeKind.WillRetry:
                LogWillRetry(logger, message.MessageId, outcome.Error);
                return RecordResult.Retry;
            case ShardOutcomeKind.DeadLetter:
                return await DeadLetterAsync(message, outcome.Error ?? "the shard runner gave no reason", cancellationToken).ConfigureAwait(false);
            default:
                LogUnknownOutcome(logger, message.MessageId, outcome.Kind);
                return RecordResult.Retry;
        }
    }

    private async Task<RecordResult> DeadLetterAsync(SqsMessage message, string reason, CancellationToken cancellationToken)
    {
        try
        {
            await deadLetters.SendAsync(message.Body, reason, message.MessageId, cancellationToken).ConfigureAwait(false);
            LogDeadLettered(logger, message.MessageId, deadLetters.Queue.Name, reason);
            return RecordResult.Done;
        }
#pragma warning disable CA1031 // Left to SQS instead: after maxReceiveCount its redrive moves the message all the same.
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogDeadLetterFailed(logger, e, message.MessageId, reason, e.Message);
            return RecordResult.Retry;
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Shard message {MessageId} could not be processed and will be delivered again: {Message}")]
    private static partial void LogNotProcessed(ILogger logger, Exception exception, string? messageId, string message);

    [LoggerMessage(Level = LogLevel.Information, Message = "Shard message {MessageId} scored{Merged}")]
    private static partial void LogScored(ILogger logger, string? messageId, string merged);

    [LoggerMessage(Level = LogLevel.Information, Message = "Shard message {MessageId} had nothing left to do")]
    private static partial void LogNothingLeft(ILogger logger, string? messageId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shard message {MessageId} failed its file: {Error}")]
    private static partial void LogJobFailed(ILogger logger, string? messageId, string? error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shard message {MessageId} failed and will be delivered again: {Error}")]
    private static partial void LogWillRetry(ILogger logger, string? messageId, string? error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Shard message {MessageId} ended with an unknown outcome {Outcome}; it will be delivered again")]
    private static partial void LogUnknownOutcome(ILogger logger, string? messageId, ShardOutcomeKind outcome);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shard message {MessageId} sent to the dead-letter queue {Queue}: {Reason}")]
    private static partial void LogDeadLettered(ILogger logger, string? messageId, string queue, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Shard message {MessageId} should be dead-lettered ({Reason}) but could not be sent there: {Message}")]
    private static partial void LogDeadLetterFailed(ILogger logger, Exception exception, string? messageId, string reason, string message);
}

/// <summary>The core's shard runner as the dispatcher sees it.</summary>
internal sealed class CoreShardProcessor(BatchShardRunner runner) : IShardProcessor
{
    public Task<ShardOutcome> ProcessAsync(string messageBody, DateTimeOffset? deadline, CancellationToken cancellationToken) =>
        runner.ProcessAsync(messageBody, deadline, cancellationToken);
}

using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;
using Serverless.Functions.Azure.Hosting;
using Serverless.Functions.Azure.Storage;
using Serverless.Inference.Batch.Sharding;

namespace Serverless.Functions.Azure.Batch;

/// <summary>
/// Scores one shard of a file <see cref="ScoreBlob"/> planned, delivered by the <see cref="AzureContract.ShardQueue"/>
/// queue on whichever instance takes it; the delivery that completes the last part merges the results. The queue
/// trigger decodes the base64 body and hands over the shard message's JSON. A shard that will retry fails the
/// invocation, so the host makes the message visible again (after host.json's <c>visibilityTimeout</c>) and, past
/// <c>maxDequeueCount</c> deliveries, moves it to <see cref="AzureContract.ShardPoisonQueue"/>; the runner's own
/// attempt count ends the file in failed/ before that. A message that is not a shard message, or names no job, goes
/// to the same poison queue at once, with its reason, and the invocation succeeds.
/// </summary>
public sealed partial class ScoreShard(BatchShardRunner runner, ShardDeadLetterQueue deadLetters, TimeProvider time, ILogger<ScoreShard> logger)
{
    [Function(AzureContract.ScoreShardFunction)]
    public async Task RunAsync(
        [QueueTrigger(AzureContract.ShardQueue, Connection = AzureContract.StorageConnection)] string message,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var deadline = time.GetUtcNow() + InferenceSettings.FunctionTimeout;
        var outcome = await runner.ProcessAsync(message, deadline, cancellationToken).ConfigureAwait(false);
        switch (outcome.Kind)
        {
            case ShardOutcomeKind.WillRetry:
                throw new ShardRetryException(outcome.Error);
            case ShardOutcomeKind.DeadLetter:
                var reason = outcome.Error ?? "not a shard message";
                await deadLetters.SendAsync(reason, message, cancellationToken).ConfigureAwait(false);
                LogDeadLettered(logger, deadLetters.Name, reason);
                break;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shard message moved to {Queue}: {Reason}")]
    private static partial void LogDeadLettered(ILogger logger, string queue, string reason);
}

/// <summary>The shard failed and has attempts left; thrown so the queue delivers the message again.</summary>
public sealed class ShardRetryException : Exception
{
    public ShardRetryException(string? error)
        : base($"The shard failed and will be retried: {error}")
    {
    }

    public ShardRetryException()
    {
    }

    public ShardRetryException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

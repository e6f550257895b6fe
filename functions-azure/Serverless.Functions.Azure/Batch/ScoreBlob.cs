using Azure.Storage.Blobs;
using Microsoft.Azure.Functions.Worker;
using Serverless.Functions.Azure.Hosting;
using Serverless.Inference.Batch;

namespace Serverless.Functions.Azure.Batch;

/// <summary>
/// Scores a file dropped under <c>incoming/</c>, delivered by an Event Grid subscription. The trigger's
/// <see cref="BlobClient"/> names the blob; the runner streams it, so a large file never sits in memory. Output goes
/// to <c>outgoing/</c> and <c>failed/</c>, other containers, so it never triggers this function again. The runner is
/// given the function timeout as its deadline (<see cref="InferenceSettings.FunctionTimeout"/>).
/// </summary>
public sealed class ScoreBlob(BatchJobRunner runner, TimeProvider time)
{
    [Function(AzureContract.ScoreBlobFunction)]
    public async Task RunAsync(
        [BlobTrigger(AzureContract.IncomingContainer + "/{name}", Source = BlobTriggerSource.EventGrid, Connection = AzureContract.StorageConnection)] BlobClient blob,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(blob);
        var deadline = time.GetUtcNow() + InferenceSettings.FunctionTimeout;
        var outcome = await runner.ProcessAsync($"{blob.BlobContainerName}/{blob.Name}", deadline, cancellationToken).ConfigureAwait(false);
        if (outcome.Kind == BatchOutcomeKind.WillRetry)
        {
            // A failed invocation is what makes the platform deliver the event again; the runner counts the attempts.
            throw new BatchRetryException(outcome.Key, outcome.Error);
        }
    }
}

/// <summary>The file failed as a whole and has attempts left; thrown so the platform redelivers the event.</summary>
public sealed class BatchRetryException : Exception
{
    public BatchRetryException(string key, string? error)
        : base($"Batch input {key} failed and will be retried: {error}")
    {
        Key = key;
    }

    public BatchRetryException()
    {
        Key = "";
    }

    public BatchRetryException(string message)
        : base(message)
    {
        Key = "";
    }

    public BatchRetryException(string message, Exception innerException)
        : base(message, innerException)
    {
        Key = "";
    }

    public string Key { get; }
}

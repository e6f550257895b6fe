using System.Text.Json;
using Microsoft.Extensions.Logging;
using Serverless.Inference.Streaming;

namespace Serverless.Functions.Aws.Events;

/// <summary>
/// A Kinesis event through the core's stream processor, answered with the partial batch response: the sequence number
/// of the first record not committed, from which Lambda delivers the shard again (halving the batch each time, with
/// bisect-on-error, so a record that keeps failing ends up alone); an empty list when every record is committed.
/// Records with errors of their own (not base64, not JSON, the wrong shape) are committed as error lines and never
/// hold the shard up.
/// </summary>
internal sealed partial class KinesisEventProcessor(StreamProcessor processor, StreamSettings settings, ILogger<KinesisEventProcessor> logger)
{
    private static readonly byte[] AllCommitted = JsonSerializer.SerializeToUtf8Bytes(new KinesisBatchResponse([]), KinesisEventJson.Default.KinesisBatchResponse);

    public async Task<ReadOnlyMemory<byte>> ProcessAsync(KinesisEvent kinesisEvent, CancellationToken cancellationToken)
    {
        var batch = KinesisBatches.From(kinesisEvent, settings);
        var outcome = await processor.ProcessAsync(batch, cancellationToken).ConfigureAwait(false);
        if (outcome.FirstUncommitted is not { } first)
        {
            LogCommitted(logger, batch.Source, outcome.Records, outcome.RecordErrors, outcome.Duplicates, outcome.Alerts);
            return AllCommitted;
        }

        var retryFrom = batch.Records[first].Position;
        LogRetryFrom(logger, batch.Source, retryFrom, outcome.Committed, outcome.Records, outcome.Error);
        return JsonSerializer.SerializeToUtf8Bytes(new KinesisBatchResponse([new KinesisBatchItemFailure(retryFrom)]), KinesisEventJson.Default.KinesisBatchResponse);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Kinesis batch from {Source}: {Records} records committed ({Errors} with errors, {Duplicates} delivered before), {Alerts} alerts sent")]
    private static partial void LogCommitted(ILogger logger, string source, int records, int errors, int duplicates, int alerts);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kinesis batch from {Source}: to be delivered again from sequence number {SequenceNumber} ({Committed} of {Records} records committed): {Error}")]
    private static partial void LogRetryFrom(ILogger logger, string source, string sequenceNumber, int committed, int records, string? error);
}

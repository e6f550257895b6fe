using Serverless.Inference.Streaming;

namespace Serverless.Functions.Aws.Events;

/// <summary>
/// A Kinesis event as the core's ordered batch. The event's shape is Lambda's, so a record without a sequence number or
/// partition key, or records from two shards, fail the invocation; a record's data is the producer's, so data that is
/// not base64 becomes that record's error, in its place.
/// </summary>
internal static class KinesisBatches
{
    public static StreamBatch From(KinesisEvent kinesisEvent, StreamSettings settings)
    {
        ArgumentNullException.ThrowIfNull(kinesisEvent);
        ArgumentNullException.ThrowIfNull(settings);
        var records = kinesisEvent.Records ?? [];
        string? source = null;
        var batch = new List<StreamRecord>(records.Length);
        foreach (var record in records)
        {
            var data = record.Kinesis ?? throw new UnknownEventException("a Kinesis record has no 'kinesis' object");
            var sequenceNumber = data.SequenceNumber is { Length: > 0 } number
                ? number
                : throw new UnknownEventException("a Kinesis record has no sequenceNumber");
            var partitionKey = data.PartitionKey ?? throw new UnknownEventException($"Kinesis record {sequenceNumber} has no partitionKey");
            var recordSource = SourceOf(record);
            if (source is not null && !string.Equals(source, recordSource, StringComparison.Ordinal))
            {
                throw new UnknownEventException($"the Kinesis event holds records of two shards ({source} and {recordSource}); an event source mapping delivers one shard per invocation");
            }

            source = recordSource;
            var timestamp = ArrivalOf(data);
            batch.Add(data.Data is null
                ? new StreamRecord(partitionKey, sequenceNumber, timestamp, ReadOnlyMemory<byte>.Empty, "the Kinesis record has no data")
                : Decode(data.Data) is { } payload
                    ? new StreamRecord(partitionKey, sequenceNumber, timestamp, payload)
                    : new StreamRecord(partitionKey, sequenceNumber, timestamp, ReadOnlyMemory<byte>.Empty, "the Kinesis record's data is not base64"));
        }

        return new StreamBatch(settings.Model, settings.Version, source ?? "kinesis", batch);
    }

    /// <summary>
    /// "&lt;stream&gt;-&lt;shard id&gt;": the shard from the eventID ("shardId-000000000006:&lt;sequence number&gt;"), the stream
    /// from the ARN. The core keeps it in object keys only if it is a short run of safe characters, and hashes it otherwise.
    /// </summary>
    private static string SourceOf(KinesisEventRecord record)
    {
        var shard = record.EventId?.Split(':')[0] is { Length: > 0 } id ? id : "shard";
        var arn = record.EventSourceArn ?? string.Empty;
        var slash = arn.LastIndexOf('/');
        return slash >= 0 && slash < arn.Length - 1 ? $"{arn[(slash + 1)..]}-{shard}" : shard;
    }

    /// <summary>Seconds since the epoch with a fraction, to the millisecond; the epoch itself when Lambda sent none.</summary>
    private static DateTimeOffset ArrivalOf(KinesisRecordData data) =>
        data.ApproximateArrivalTimestamp is { } seconds && double.IsFinite(seconds) && seconds is >= 0 and < 253_402_300_800
            ? DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(seconds * 1000))
            : DateTimeOffset.UnixEpoch;

    private static byte[]? Decode(string data)
    {
        // The event is at most 6 MB, so the decoded bytes are bounded by what Lambda already delivered.
        var buffer = new byte[data.Length / 4 * 3 + 3];
        return Convert.TryFromBase64String(data, buffer, out var written) ? buffer[..written] : null;
    }
}

using System.Text.Json.Serialization;

namespace Serverless.Functions.Aws.Events;

/// <summary>A Kinesis Data Streams event: the records of one shard, in sequence order, as the event source mapping delivers them.</summary>
internal sealed record KinesisEvent([property: JsonPropertyName("Records")] KinesisEventRecord[]? Records);

/// <param name="EventId">"&lt;shard id&gt;:&lt;sequence number&gt;".</param>
/// <param name="EventSourceArn">The stream: <c>arn:aws:kinesis:&lt;region&gt;:&lt;account&gt;:stream/&lt;name&gt;</c>.</param>
internal sealed record KinesisEventRecord(
    [property: JsonPropertyName("eventSource")] string? EventSource,
    [property: JsonPropertyName("eventID")] string? EventId,
    [property: JsonPropertyName("eventSourceARN")] string? EventSourceArn,
    [property: JsonPropertyName("kinesis")] KinesisRecordData? Kinesis);

/// <param name="Data">The record's bytes, base64.</param>
/// <param name="ApproximateArrivalTimestamp">When Kinesis took the record, in seconds since the epoch, with a fraction.</param>
internal sealed record KinesisRecordData(
    [property: JsonPropertyName("kinesisSchemaVersion")] string? KinesisSchemaVersion,
    [property: JsonPropertyName("partitionKey")] string? PartitionKey,
    [property: JsonPropertyName("sequenceNumber")] string? SequenceNumber,
    [property: JsonPropertyName("data")] string? Data,
    [property: JsonPropertyName("approximateArrivalTimestamp")] double? ApproximateArrivalTimestamp);

/// <summary>
/// The partial batch response a Kinesis event source mapping with ReportBatchItemFailures reads: the sequence number of
/// the first record to deliver again (Lambda retries from there, the records before it count as done); empty when all
/// are done.
/// </summary>
internal sealed record KinesisBatchResponse([property: JsonPropertyName("batchItemFailures")] IReadOnlyList<KinesisBatchItemFailure> BatchItemFailures);

internal sealed record KinesisBatchItemFailure([property: JsonPropertyName("itemIdentifier")] string ItemIdentifier);

/// <summary>Source-generated (de)serialisation of the Kinesis shapes: no reflection, so the bootstrap publishes as Native AOT.</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(KinesisEvent))]
[JsonSerializable(typeof(KinesisBatchResponse))]
internal sealed partial class KinesisEventJson : JsonSerializerContext;

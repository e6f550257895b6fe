namespace Serverless.Inference.Streaming;

/// <summary>
/// One record of an ordered stream batch. <paramref name="Payload"/> is one row in a form the batch scorer reads: an OIP
/// inference request object, a record object or array, or (for a model with one text input) a line of text, as UTF-8.
/// An adapter that cannot decode a record from its transport passes it anyway, with an empty payload and
/// <paramref name="DecodeError"/> set, so it gets its error result in its place.
/// </summary>
/// <param name="PartitionKey">What the stream orders by: a sensor or device id. Per-key state and alert streaks follow it.</param>
/// <param name="Position">Where the record sits in its source: a Kinesis sequence number, a CloudEvent id, a line number.</param>
public sealed record StreamRecord(
    string PartitionKey,
    string Position,
    DateTimeOffset Timestamp,
    ReadOnlyMemory<byte> Payload,
    string? DecodeError = null);

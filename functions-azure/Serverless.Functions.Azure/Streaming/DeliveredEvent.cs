namespace Serverless.Functions.Azure.Streaming;

/// <summary>
/// One event of an Event Grid delivery, as the stream core takes it. <see cref="DecodeError"/> is set (and
/// <see cref="Payload"/> empty) for an event whose data could not be decoded: it still gets its error line, in order.
/// </summary>
/// <param name="Id">The event's <c>id</c>: its position in the stream, and with <see cref="Source"/> what makes it unique.</param>
/// <param name="Time">The event's <c>time</c> (CloudEvents) or <c>eventTime</c> (Event Grid schema), when it has one.</param>
internal sealed record DeliveredEvent(string Id, string Source, string PartitionKey, DateTimeOffset? Time, ReadOnlyMemory<byte> Payload, string? DecodeError = null);

using System.Globalization;
using System.Text;
using System.Text.Json;
using Azure.Messaging.EventGrid;
using Azure.Messaging.EventGrid.SystemEvents;
using CloudNative.CloudEvents;
using CloudNative.CloudEvents.SystemTextJson;
using Serverless.Inference.Repository;

namespace Serverless.Functions.Azure.Streaming;

/// <summary>
/// Reads the body Event Grid posts to a webhook: CloudEvents 1.0 in structured mode (one event, or a batch as a JSON
/// array, <c>application/cloudevents-batch+json</c>), or events in the Event Grid schema (always an array), including
/// that schema's subscription validation. The envelope is the SDKs' to check (CloudNative.CloudEvents for CloudEvents,
/// Azure.Messaging.EventGrid for the Event Grid schema); an envelope they refuse refuses the whole delivery, since no
/// retry can mend it. An event whose <em>data</em> cannot be decoded is kept, with its error, so it gets an error line
/// in order and never blocks the rest.
/// </summary>
/// <param name="partitionAttribute">The CloudEvents attribute that keys an event's state; an event without it is keyed by its <c>source</c>.</param>
internal sealed class EventDeliveryReader(string partitionAttribute)
{
    /// <summary>Event Grid delivers at most this many events at once (the largest <c>maxEventsPerBatch</c>).</summary>
    internal const int MaxEvents = 5000;

    private const string ValidationEventType = "Microsoft.EventGrid.SubscriptionValidationEvent";

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 64 };

    private readonly KeptDataFormatter _formatter = new();

    /// <param name="validationHeader">Event Grid's <c>aeg-event-type: SubscriptionValidation</c> header was sent.</param>
    public EventDelivery Read(ReadOnlyMemory<byte> body, bool validationHeader)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, DocumentOptions);
        }
        catch (JsonException e)
        {
            return new EventDelivery.Refused(400, $"the body is not JSON: {e.Message}");
        }

        using (document)
        {
            var root = document.RootElement;
            JsonElement[]? events = root.ValueKind switch
            {
                JsonValueKind.Array => [.. root.EnumerateArray()],
                JsonValueKind.Object => [root],
                _ => null,
            };
            if (events is null)
            {
                return new EventDelivery.Refused(400, $"a delivery is an event object or an array of events, not a JSON {root.ValueKind.ToString().ToLowerInvariant()}");
            }

            if (events.Length == 0)
            {
                return new EventDelivery.Refused(400, "the batch holds no events");
            }

            if (events.Length > MaxEvents)
            {
                return new EventDelivery.Refused(413, $"the batch holds {events.Length} events; Event Grid delivers at most {MaxEvents} at once");
            }

            return IsCloudEvent(events[0]) ? ReadCloudEvents(events) : ReadEventGridEvents(events, validationHeader);
        }
    }

    private static bool IsCloudEvent(JsonElement element) => element.ValueKind == JsonValueKind.Object && element.TryGetProperty("specversion", out _);

    private EventDelivery ReadCloudEvents(JsonElement[] elements)
    {
        var events = new List<DeliveredEvent>(elements.Length);
        for (var i = 0; i < elements.Length; i++)
        {
            CloudEvent cloudEvent;
            try
            {
                cloudEvent = _formatter.ConvertFromJsonElement(elements[i], extensionAttributes: null);
            }
            catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException)
            {
                return new EventDelivery.Refused(400, $"event {i} is not a CloudEvent 1.0: {e.Message}");
            }

            var source = cloudEvent.Source!.OriginalString;
            var (payload, error) = Payload(cloudEvent.Data);
            events.Add(new DeliveredEvent(cloudEvent.Id!, source, PartitionKey(cloudEvent) ?? source, cloudEvent.Time, payload, error));
        }

        return new EventDelivery.Events(InOrder(events));
    }

    private string? PartitionKey(CloudEvent cloudEvent) => cloudEvent[partitionAttribute] switch
    {
        null => null,
        string text when text.Length == 0 => null,
        string text => text,
        DateTimeOffset time => time.ToString("O", CultureInfo.InvariantCulture),
        var other => Convert.ToString(other, CultureInfo.InvariantCulture),
    };

    private static EventDelivery ReadEventGridEvents(JsonElement[] elements, bool validationHeader)
    {
        var events = new List<DeliveredEvent>(elements.Length);
        for (var i = 0; i < elements.Length; i++)
        {
            if (elements[i].ValueKind != JsonValueKind.Object || !elements[i].TryGetProperty("eventType", out _))
            {
                return new EventDelivery.Refused(400, $"event {i} is neither a CloudEvent (no 'specversion') nor an Event Grid event (no 'eventType')");
            }

            EventGridEvent gridEvent;
            try
            {
                gridEvent = EventGridEvent.Parse(BinaryData.FromString(elements[i].GetRawText()));
            }
            catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException or JsonException or KeyNotFoundException)
            {
                return new EventDelivery.Refused(400, $"event {i} is not an Event Grid event: {e.Message}");
            }

            if (Missing(gridEvent) is { } missing)
            {
                return new EventDelivery.Refused(400, $"event {i} is not an Event Grid event: it has no '{missing}'");
            }

            if (gridEvent.EventType == ValidationEventType || validationHeader)
            {
                return gridEvent.TryGetSystemEventData(out var data) && data is SubscriptionValidationEventData { ValidationCode: { Length: > 0 } code }
                    ? new EventDelivery.SubscriptionValidation(code)
                    : new EventDelivery.Refused(400, "a subscription validation carries data.validationCode");
            }

            var (payload, error) = gridEvent.Data is null ? (default, "the event carries no data") : Payload(gridEvent.Data.ToObjectFromJson<JsonElement>());
            var topic = gridEvent.Topic ?? "";
            events.Add(new DeliveredEvent(gridEvent.Id, topic, string.IsNullOrEmpty(gridEvent.Subject) ? topic : gridEvent.Subject, gridEvent.EventTime, payload, error));
        }

        return new EventDelivery.Events(InOrder(events));
    }

    /// <summary>A subject may be empty (a validation event's is): such an event is keyed by its topic.</summary>
    private static string? Missing(EventGridEvent gridEvent) =>
        string.IsNullOrEmpty(gridEvent.Id) ? "id"
        : string.IsNullOrEmpty(gridEvent.EventType) ? "eventType"
        : null;

    /// <summary>
    /// The record the core scores: JSON data as its JSON text, except a JSON string, which is the record's text (a CSV
    /// line, say); <c>data_base64</c> as its bytes; text data of another content type as its UTF-8 bytes.
    /// </summary>
    private static (ReadOnlyMemory<byte> Payload, string? Error) Payload(object? data) => data switch
    {
        null => (default, "the event carries no data"),
        JsonElement { ValueKind: JsonValueKind.Null } => (default, "the event carries no data"),
        JsonElement { ValueKind: JsonValueKind.String } text => (Encoding.UTF8.GetBytes(text.GetString()!), null),
        JsonElement json => (Encoding.UTF8.GetBytes(json.GetRawText()), null),
        byte[] bytes => (bytes, null),
        string text => (Encoding.UTF8.GetBytes(text), null),
        UndecodableData undecodable => (default, undecodable.Reason),
        _ => (default, $"data of type {data.GetType().Name} cannot be scored"),
    };

    /// <summary>
    /// Event Grid does not promise order within a delivery: events are scored by their time (stable, so events with the
    /// same time, or none, keep the order they came in).
    /// </summary>
    private static List<DeliveredEvent> InOrder(List<DeliveredEvent> events) =>
        [.. events.Select((e, index) => (Event: e, Index: index)).OrderBy(p => p.Event.Time ?? DateTimeOffset.MinValue).ThenBy(p => p.Index).Select(p => p.Event)];

    /// <summary>Data the formatter could not decode, kept on the event so it becomes that event's error line.</summary>
    private sealed record UndecodableData(string Reason);

    /// <summary>
    /// The SDK's formatter, except that data it cannot decode (<c>data_base64</c> that is not base64, non-string data
    /// with a non-JSON content type) is kept as <see cref="UndecodableData"/> instead of refusing the whole batch.
    /// </summary>
    private sealed class KeptDataFormatter : JsonEventFormatter
    {
        protected override void DecodeStructuredModeDataBase64Property(JsonElement dataBase64Element, CloudEvent cloudEvent)
        {
            cloudEvent.Data = dataBase64Element.ValueKind == JsonValueKind.String && dataBase64Element.TryGetBytesFromBase64(out var bytes)
                ? bytes
                : new UndecodableData("data_base64 is not a base64 string");
        }

        protected override void DecodeStructuredModeDataProperty(JsonElement dataElement, CloudEvent cloudEvent)
        {
            try
            {
                base.DecodeStructuredModeDataProperty(dataElement, cloudEvent);
            }
            catch (Exception e) when (e is ArgumentException or FormatException)
            {
                cloudEvent.Data = new UndecodableData($"data that cannot be read as datacontenttype '{ModelNames.Printable(cloudEvent.DataContentType)}': {e.Message}");
            }
        }
    }
}

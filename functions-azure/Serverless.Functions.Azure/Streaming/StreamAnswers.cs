using System.Text.Json.Serialization;

namespace Serverless.Functions.Azure.Streaming;

/// <summary>What the webhook says about a delivery; Event Grid reads only the status, a person reads the rest.</summary>
/// <param name="Duplicates">Events committed by an earlier delivery and skipped now.</param>
/// <param name="Error">Set with a 503: why some events were not committed.</param>
internal sealed record DeliveryAnswer(int Events, int Committed, int RecordErrors, int Duplicates, int Alerts, string? Error);

/// <summary>The Event Grid schema's handshake answer.</summary>
internal sealed record ValidationAnswer([property: JsonPropertyName("validationResponse")] string ValidationResponse);

internal sealed record ErrorAnswer(string Error);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(DeliveryAnswer))]
[JsonSerializable(typeof(ValidationAnswer))]
[JsonSerializable(typeof(ErrorAnswer))]
internal sealed partial class StreamJson : JsonSerializerContext;

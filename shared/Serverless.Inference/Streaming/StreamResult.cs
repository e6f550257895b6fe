using System.Text.Json;

namespace Serverless.Inference.Streaming;

/// <summary>One record's result, in the order of the records.</summary>
public sealed class StreamResult
{
    internal StreamResult(StreamRecord record, string model, string modelVersion, StreamResultKind kind, ReadOnlyMemory<byte> json, string? message, bool outOfOrder)
    {
        Record = record;
        Model = model;
        ModelVersion = modelVersion;
        Kind = kind;
        Json = json;
        Message = message;
        OutOfOrder = outOfOrder;
    }

    public StreamRecord Record { get; }

    public string Model { get; }

    public string ModelVersion { get; }

    public StreamResultKind Kind { get; }

    /// <summary>The outputs object or the OIP response, as UTF-8 JSON; empty for an error or a skipped record.</summary>
    public ReadOnlyMemory<byte> Json { get; }

    /// <summary>The error, or why the record was skipped.</summary>
    public string? Message { get; }

    /// <summary>
    /// The record did not come after its partition key's last one (a late or repeated record): it fed no window and no
    /// run of matches, and raised no alert. Only known for a model that keeps per-key state.
    /// </summary>
    public bool OutOfOrder { get; }

    /// <summary>The alerts this record raised.</summary>
    public IReadOnlyList<StreamAlert> Alerts { get; internal set; } = [];

    /// <summary>
    /// Writes the record's predictions line as one JSON object: key, position, timestamp, model and version, then
    /// <c>outputs</c>, <c>response</c>, <c>error</c> or <c>skipped</c>, and <c>out_of_order</c> and <c>alerts</c> when set.
    /// </summary>
    public void WritePrediction(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        writer.WriteString("key"u8, Record.PartitionKey);
        writer.WriteString("position"u8, Record.Position);
        writer.WriteString("timestamp"u8, Record.Timestamp);
        writer.WriteString("model"u8, Model);
        writer.WriteString("version"u8, ModelVersion);
        switch (Kind)
        {
            case StreamResultKind.Outputs:
                writer.WritePropertyName("outputs"u8);
                writer.WriteRawValue(Json.Span, skipInputValidation: true);
                break;
            case StreamResultKind.Response:
                writer.WritePropertyName("response"u8);
                writer.WriteRawValue(Json.Span, skipInputValidation: true);
                break;
            case StreamResultKind.Error:
                writer.WriteString("error"u8, Message);
                break;
            default:
                writer.WriteString("skipped"u8, Message);
                break;
        }

        if (OutOfOrder)
        {
            writer.WriteBoolean("out_of_order"u8, true);
        }

        if (Alerts.Count > 0)
        {
            writer.WriteStartArray("alerts"u8);
            foreach (var alert in Alerts)
            {
                writer.WriteStringValue(alert.Rule);
            }

            writer.WriteEndArray();
        }

        writer.WriteEndObject();
    }
}

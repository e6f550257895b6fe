using System.Text;
using System.Text.Json;

namespace Serverless.Inference.Streaming;

/// <summary>
/// A rule fired on a record. <paramref name="Id"/> is a hash of model, version, rule, partition key and position, so
/// a send repeated after a failure carries the same id and a consumer can drop the repeat.
/// </summary>
/// <param name="Prediction">The record's outputs, as in its predictions line.</param>
public sealed record StreamAlert(
    string Id,
    string Model,
    string ModelVersion,
    string Rule,
    string PartitionKey,
    string Position,
    DateTimeOffset Timestamp,
    JsonElement Prediction)
{
    /// <summary>
    /// The alert as every sink sends it (a queue message, a line of <c>infer stream</c>), with the names its predictions
    /// line uses: <c>{"id","rule","model","version","key","position","timestamp","prediction"}</c>. Without the prediction
    /// (a transport with a small message limit), <c>prediction_omitted_bytes</c> says how big it was.
    /// </summary>
    public void WriteTo(Utf8JsonWriter writer, bool includePrediction = true)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        writer.WriteString("id"u8, Id);
        writer.WriteString("rule"u8, Rule);
        writer.WriteString("model"u8, Model);
        writer.WriteString("version"u8, ModelVersion);
        writer.WriteString("key"u8, PartitionKey);
        writer.WriteString("position"u8, Position);
        writer.WriteString("timestamp"u8, Timestamp);
        if (includePrediction)
        {
            writer.WritePropertyName("prediction"u8);
            Prediction.WriteTo(writer);
        }
        else
        {
            writer.WriteNumber("prediction_omitted_bytes"u8, Encoding.UTF8.GetByteCount(Prediction.GetRawText()));
        }

        writer.WriteEndObject();
    }
}

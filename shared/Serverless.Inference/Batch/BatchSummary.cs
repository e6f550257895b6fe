using System.Text.Json;
using Serverless.Inference.Protocol;

namespace Serverless.Inference.Batch;

/// <summary>What a scored file gets beside its results.</summary>
public sealed record BatchSummary
{
    public required string Model { get; init; }

    public required string ModelVersion { get; init; }

    public required string ModelIdentity { get; init; }

    public required string Input { get; init; }

    public required string InputIdentity { get; init; }

    public required BatchFormat Format { get; init; }

    public long RowsIn { get; init; }

    public long RowsOk { get; init; }

    public long RowsFailed { get; init; }

    public int MicroBatchSize { get; init; }

    public DateTimeOffset StartedAt { get; init; }

    public TimeSpan Duration { get; init; }

    /// <summary>Time spent inside the model, the rest being reading, parsing and writing.</summary>
    public TimeSpan ModelTime { get; init; }

    /// <summary>Where the results were published; set by whoever publishes them.</summary>
    public string? Output { get; init; }

    public double RowsPerSecond => Duration > TimeSpan.Zero ? RowsIn / Duration.TotalSeconds : 0;

    public byte[] ToJson()
    {
        using var buffer = new PooledBufferWriter(1024);
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = InferResponseWriter.WriterOptions.Encoder }))
        {
            json.WriteStartObject();
            json.WriteString("model", Model);
            json.WriteString("model_version", ModelVersion);
            json.WriteString("model_identity", ModelIdentity);
            json.WriteString("input", Input);
            json.WriteString("input_identity", InputIdentity);
            json.WriteString("format", Format.Extension());
            json.WriteString("output", Output);
            json.WriteNumber("rows_in", RowsIn);
            json.WriteNumber("rows_ok", RowsOk);
            json.WriteNumber("rows_failed", RowsFailed);
            json.WriteNumber("micro_batch_size", MicroBatchSize);
            json.WriteString("started_at", StartedAt);
            json.WriteNumber("duration_s", Math.Round(Duration.TotalSeconds, 3));
            json.WriteNumber("model_s", Math.Round(ModelTime.TotalSeconds, 3));
            json.WriteNumber("rows_per_s", Math.Round(RowsPerSecond, 1));
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}

/// <summary>Progress of a running batch, reported after each micro-batch.</summary>
public readonly record struct BatchProgress(long Rows, long FailedRows, long BytesRead);

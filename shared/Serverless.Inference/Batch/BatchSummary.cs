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

    /// <summary>How many shards scored the file: 1 when one invocation did.</summary>
    public int Shards { get; init; } = 1;

    /// <summary>Where the results were published; set by whoever publishes them.</summary>
    public string? Output { get; init; }

    public double RowsPerSecond => Duration > TimeSpan.Zero ? RowsIn / Duration.TotalSeconds : 0;

    /// <summary>
    /// The summary of a whole file from its shards' summaries: rows and model time added up, the job's wall time from
    /// <paramref name="startedAt"/> to <paramref name="endedAt"/>.
    /// </summary>
    internal static BatchSummary AddUp(IReadOnlyList<BatchSummary> shards, DateTimeOffset startedAt, DateTimeOffset endedAt)
    {
        ArgumentNullException.ThrowIfNull(shards);
        var first = shards[0];
        return first with
        {
            RowsIn = shards.Sum(s => s.RowsIn),
            RowsOk = shards.Sum(s => s.RowsOk),
            RowsFailed = shards.Sum(s => s.RowsFailed),
            MicroBatchSize = shards.Max(s => s.MicroBatchSize),
            ModelTime = TimeSpan.FromTicks(shards.Sum(s => s.ModelTime.Ticks)),
            StartedAt = startedAt,
            Duration = endedAt - startedAt,
            Shards = shards.Count,
            Output = null,
        };
    }

    /// <summary>Reads what <see cref="ToJson"/> wrote.</summary>
    /// <exception cref="FormatException">It is not a summary.</exception>
    public static BatchSummary Parse(ReadOnlySpan<byte> utf8)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8);
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            return new BatchSummary
            {
                Model = root.GetProperty("model").GetString()!,
                ModelVersion = root.GetProperty("model_version").GetString()!,
                ModelIdentity = root.GetProperty("model_identity").GetString()!,
                Input = root.GetProperty("input").GetString()!,
                InputIdentity = root.GetProperty("input_identity").GetString()!,
                Format = BatchFormats.FromExtension(root.GetProperty("format").GetString()!) ?? throw new FormatException("an unknown format"),
                Output = root.GetProperty("output").GetString(),
                RowsIn = root.GetProperty("rows_in").GetInt64(),
                RowsOk = root.GetProperty("rows_ok").GetInt64(),
                RowsFailed = root.GetProperty("rows_failed").GetInt64(),
                MicroBatchSize = root.GetProperty("micro_batch_size").GetInt32(),
                Shards = root.TryGetProperty("shards", out var shards) ? shards.GetInt32() : 1,
                StartedAt = root.GetProperty("started_at").GetDateTimeOffset(),
                Duration = TimeSpan.FromSeconds(root.GetProperty("duration_s").GetDouble()),
                ModelTime = TimeSpan.FromSeconds(root.GetProperty("model_s").GetDouble()),
            };
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new FormatException($"not a batch summary: {e.Message}", e);
        }
    }

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
            if (Shards > 1)
            {
                json.WriteNumber("shards", Shards);
            }

            json.WriteString("started_at", StartedAt);
            json.WriteNumber("duration_s", Math.Round(Duration.TotalSeconds, 3));
            json.WriteNumber("model_s", Math.Round(ModelTime.TotalSeconds, 3));
            json.WriteNumber("rows_per_s", Math.Round(RowsPerSecond, 1));
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}

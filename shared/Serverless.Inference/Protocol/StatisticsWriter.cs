using System.Text.Json;
using Serverless.Inference.Serving;

namespace Serverless.Inference.Protocol;

/// <summary>
/// Triton's statistics extension: <c>GET /v2/models[/{model}[/versions/{version}]]/stats</c> answers
/// <c>{"model_stats": [...]}</c> with Triton's field names. Counts are this instance's since it started: a serverless
/// platform runs many instances, so fleet-wide figures come from the exported metrics instead.
/// </summary>
internal static class StatisticsWriter
{
    public static void Write(Utf8JsonWriter writer, IEnumerable<ModelStatistics> models)
    {
        writer.WriteStartArray("model_stats"u8);
        foreach (var model in models)
        {
            writer.WriteStartObject();
            writer.WriteString("name"u8, model.Name);
            writer.WriteString("version"u8, model.Version);
            writer.WriteNumber("last_inference"u8, model.LastInference);
            writer.WriteNumber("inference_count"u8, model.InferenceCount);
            writer.WriteNumber("execution_count"u8, model.ExecutionCount);
            writer.WriteStartObject("inference_stats"u8);
            WriteDuration(writer, "success"u8, model.Success);
            WriteDuration(writer, "fail"u8, model.Fail);
            WriteDuration(writer, "queue"u8, model.Queue);
            WriteDuration(writer, "compute_input"u8, model.ComputeInput);
            WriteDuration(writer, "compute_infer"u8, model.ComputeInfer);
            WriteDuration(writer, "compute_output"u8, model.ComputeOutput);
            // No response cache here: Triton reports zeros when caching is off.
            WriteDuration(writer, "cache_hit"u8, null);
            WriteDuration(writer, "cache_miss"u8, null);
            writer.WriteEndObject();
            writer.WriteStartArray("batch_stats"u8);
            foreach (var (batchSize, computeInfer) in model.Batches)
            {
                writer.WriteStartObject();
                writer.WriteNumber("batch_size"u8, batchSize);
                // An execution's own time is all this host can tell apart; reading and writing belong to each request.
                WriteDuration(writer, "compute_infer"u8, computeInfer);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteStartArray("memory_usage"u8);
            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
    }

    private static void WriteDuration(Utf8JsonWriter writer, ReadOnlySpan<byte> name, ModelStatistics.Duration? duration)
    {
        writer.WriteStartObject(name);
        writer.WriteNumber("count"u8, duration?.Count ?? 0);
        writer.WriteNumber("ns"u8, duration?.Nanoseconds ?? 0);
        writer.WriteEndObject();
    }
}

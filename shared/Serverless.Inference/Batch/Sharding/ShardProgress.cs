using System.Text.Json;
using Serverless.Inference.Protocol;

namespace Serverless.Inference.Batch.Sharding;

/// <summary>
/// <c>progress.json</c> beside a sharded run, for people watching it: shards and rows done of the total, rows per
/// second since the plan was made, and the time left at that rate. Written by the planner and after every shard, by
/// whichever instance finished it; the last writer wins, which is all a progress figure needs.
/// </summary>
internal static class ShardProgress
{
    public static async Task WriteAsync(IBatchStore store, ShardPlan plan, ShardKeys keys, int shardsDone, long rowsDone, TimeProvider time, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var rate = rowsDone / Math.Max((now - plan.CreatedAt).TotalSeconds, 0.001);
        using var buffer = new PooledBufferWriter(256);
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = InferResponseWriter.WriterOptions.Encoder }))
        {
            json.WriteStartObject();
            json.WriteString("input", plan.Input);
            json.WriteNumber("shards_done", shardsDone);
            json.WriteNumber("shards_total", plan.Shards.Count);
            json.WriteNumber("rows_done", rowsDone);
            json.WriteNumber("rows_total", plan.Records);
            json.WriteNumber("rows_per_s", Math.Round(rate, 1));
            json.WriteNumber("eta_s", rate > 0 ? Math.Round((plan.Records - rowsDone) / rate) : -1);
            json.WriteString("started_at", plan.CreatedAt);
            json.WriteString("updated_at", now);
            json.WriteEndObject();
        }

        try
        {
            await store.WriteAsync(keys.Progress, buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
        }
        catch (BatchStoreException)
        {
            // Progress is for people watching; scoring goes on without it.
        }
    }
}

using System.Text.Json;

namespace Serverless.Inference.Batch.Sharding;

/// <summary>
/// One queue message per shard of a planned file: which plan, which shard. As JSON: <c>{"plan":"outgoing/.../plan.json","shard":3}</c>.
/// Everything else a worker needs is in the plan, so messages stay small and a redelivered one is harmless.
/// </summary>
public sealed record ShardMessage(string Plan, int Shard)
{
    public const string PlanFileName = "plan.json";

    /// <summary>The largest message body accepted; a real one is a few hundred bytes.</summary>
    public const int MaxBytes = 4096;

    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("plan"u8, Plan);
            json.WriteNumber("shard"u8, Shard);
            json.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>Reads a message body, checking what it names before anything reads the store.</summary>
    /// <exception cref="ShardMessageException">Not a shard message: the queue should dead-letter it with this reason.</exception>
    public static ShardMessage Parse(string body)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (body.Length > MaxBytes)
        {
            throw new ShardMessageException($"the message is {body.Length} characters long; a shard message is at most {MaxBytes}");
        }

        string? plan = null;
        int? shard = null;
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new ShardMessageException("the message is not a JSON object");
            }

            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.NameEquals("plan"u8) && property.Value.ValueKind == JsonValueKind.String)
                {
                    plan = property.Value.GetString();
                }
                else if (property.NameEquals("shard"u8) && property.Value.TryGetInt32(out var index))
                {
                    shard = index;
                }
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new ShardMessageException($"the message is not JSON: {e.Message}");
        }

        if (plan is null || shard is null)
        {
            throw new ShardMessageException("the message has no 'plan' (a string) or no 'shard' (an integer)");
        }

        if (shard < 0)
        {
            throw new ShardMessageException($"shard {shard} is negative");
        }

        var problem = BatchKeyRule.Problem(plan);
        if (problem is not null || !plan.StartsWith(BatchKey.Outgoing + "/", StringComparison.Ordinal) || !plan.EndsWith("/" + PlanFileName, StringComparison.Ordinal))
        {
            throw new ShardMessageException($"'{Repository.ModelNames.Printable(plan)}' is not a plan key (outgoing/.../{PlanFileName}){(problem is null ? "" : ": " + problem)}");
        }

        return new ShardMessage(plan, shard.Value);
    }
}

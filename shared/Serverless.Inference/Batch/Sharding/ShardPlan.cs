using System.Globalization;
using System.Text.Json;
using Serverless.Inference.Protocol;

namespace Serverless.Inference.Batch.Sharding;

/// <summary>A byte range of the input holding whole records, and the line its first record starts on.</summary>
internal sealed record ShardRange(long Offset, long Length, long FirstLine, long Records);

/// <summary>
/// How one input is scored in shards: the pinned input (key, identity, length, time), the model it is scored with,
/// the CSV header (bytes every shard is read with) and the shards. Written create-only beside the run, read by every
/// worker: the message only names it.
/// </summary>
internal sealed record ShardPlan
{
    public required string Input { get; init; }

    public required string InputIdentity { get; init; }

    public required long InputLength { get; init; }

    public required DateTimeOffset InputLastModified { get; init; }

    public required string Model { get; init; }

    public required string ModelVersion { get; init; }

    public required string ModelIdentity { get; init; }

    public required BatchFormat Format { get; init; }

    /// <summary>The CSV header's bytes (with any byte order mark), read before each shard's range; null for JSON lines.</summary>
    public ShardRange? Header { get; init; }

    /// <summary>The lines the header takes (more than one when a quoted name holds a newline): a shard numbers its lines from its first record's.</summary>
    public int HeaderLines { get; init; }

    public required IReadOnlyList<ShardRange> Shards { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public BatchObject PinnedInput => new(Input, InputIdentity, InputLength, InputLastModified);

    public long Records => Shards.Sum(shard => shard.Records);

    /// <summary>The plan at <paramref name="key"/>, or null when there is none.</summary>
    /// <exception cref="FormatException">The object there is not a plan.</exception>
    internal static async Task<ShardPlan?> ReadAsync(IBatchStore store, string key, CancellationToken cancellationToken)
    {
        if (await store.StatAsync(key, cancellationToken).ConfigureAwait(false) is not { } stat)
        {
            return null;
        }

        if (stat.Length > 64L << 20)
        {
            throw new FormatException($"{key} is {stat.Length} bytes: not a plan");
        }

        await using var stream = await store.OpenReadAsync(stat, cancellationToken).ConfigureAwait(false);
        using var bytes = new MemoryStream((int)stat.Length);
        await stream.CopyToAsync(bytes, cancellationToken).ConfigureAwait(false);
        return Parse(bytes.GetBuffer().AsSpan(0, (int)bytes.Length));
    }

    public byte[] ToJson()
    {
        using var buffer = new PooledBufferWriter(1024 + Shards.Count * 96);
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = InferResponseWriter.WriterOptions.Encoder }))
        {
            json.WriteStartObject();
            json.WriteNumber("version", 1);
            json.WriteString("input", Input);
            json.WriteString("input_identity", InputIdentity);
            json.WriteNumber("input_length", InputLength);
            json.WriteString("input_last_modified", InputLastModified.ToString("O", CultureInfo.InvariantCulture));
            json.WriteString("model", Model);
            json.WriteString("model_version", ModelVersion);
            json.WriteString("model_identity", ModelIdentity);
            json.WriteString("format", Format.Extension());
            json.WriteString("created_at", CreatedAt.ToString("O", CultureInfo.InvariantCulture));
            if (Header is { } header)
            {
                json.WritePropertyName("header");
                WriteRange(json, header);
                json.WriteNumber("header_lines", HeaderLines);
            }

            json.WriteStartArray("shards");
            foreach (var shard in Shards)
            {
                WriteRange(json, shard);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <exception cref="FormatException">Not a plan this code wrote.</exception>
    public static ShardPlan Parse(ReadOnlySpan<byte> utf8)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8);
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            if (root.GetProperty("version").GetInt32() != 1)
            {
                throw new FormatException("a plan of another version");
            }

            var format = BatchFormats.FromExtension(root.GetProperty("format").GetString()!) ?? throw new FormatException("an unknown format");
            var shards = root.GetProperty("shards").EnumerateArray().Select(ReadRange).ToList();
            if (shards.Count == 0)
            {
                throw new FormatException("a plan without shards");
            }

            return new ShardPlan
            {
                Input = root.GetProperty("input").GetString()!,
                InputIdentity = root.GetProperty("input_identity").GetString()!,
                InputLength = root.GetProperty("input_length").GetInt64(),
                InputLastModified = DateTimeOffset.Parse(root.GetProperty("input_last_modified").GetString()!, CultureInfo.InvariantCulture),
                Model = root.GetProperty("model").GetString()!,
                ModelVersion = root.GetProperty("model_version").GetString()!,
                ModelIdentity = root.GetProperty("model_identity").GetString()!,
                Format = format,
                CreatedAt = DateTimeOffset.Parse(root.GetProperty("created_at").GetString()!, CultureInfo.InvariantCulture),
                Header = root.TryGetProperty("header", out var header) ? ReadRange(header) : null,
                HeaderLines = root.TryGetProperty("header_lines", out var lines) ? lines.GetInt32() : 0,
                Shards = shards,
            };
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new FormatException($"not a shard plan: {e.Message}", e);
        }
    }

    private static void WriteRange(Utf8JsonWriter json, ShardRange range)
    {
        json.WriteStartObject();
        json.WriteNumber("offset", range.Offset);
        json.WriteNumber("length", range.Length);
        json.WriteNumber("first_line", range.FirstLine);
        json.WriteNumber("records", range.Records);
        json.WriteEndObject();
    }

    private static ShardRange ReadRange(JsonElement range) => new(
        range.GetProperty("offset").GetInt64(),
        range.GetProperty("length").GetInt64(),
        range.GetProperty("first_line").GetInt64(),
        range.GetProperty("records").GetInt64());
}

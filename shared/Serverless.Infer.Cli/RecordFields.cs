using System.Text;
using System.Text.Json;

namespace Serverless.Infer.Cli;

/// <summary>
/// Reads a JSON line's partition key and timestamp from its top-level fields (by default "key" and "timestamp"),
/// without parsing the rest: the key is a string or a number as written; the timestamp an ISO 8601 string.
/// A line without them (or one that is not JSON at all, whose error the scorer reports) gets the empty key, which
/// all such lines share, and its arrival time.
/// </summary>
internal sealed class RecordFields(string keyField, string timestampField)
{
    /// <summary>A key longer than this is cut: it only names a partition, and it travels with every result and alert.</summary>
    public const int MaxKeyChars = 256;

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 64 };
    private readonly byte[] _keyField = Encoding.UTF8.GetBytes(keyField);
    private readonly byte[] _timestampField = Encoding.UTF8.GetBytes(timestampField);

    public (string Key, DateTimeOffset Timestamp) Read(ReadOnlySpan<byte> line, DateTimeOffset arrived)
    {
        var key = "";
        var timestamp = arrived;
        try
        {
            var reader = new Utf8JsonReader(line, ReaderOptions);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return (key, timestamp);
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isKey = reader.ValueTextEquals(_keyField);
                var isTimestamp = !isKey && reader.ValueTextEquals(_timestampField);
                reader.Read();
                if (isKey && reader.TokenType is JsonTokenType.String or JsonTokenType.Number)
                {
                    var text = reader.TokenType == JsonTokenType.String ? reader.GetString()! : Encoding.UTF8.GetString(reader.ValueSpan);
                    key = text.Length > MaxKeyChars ? text[..MaxKeyChars] : text;
                }
                else if (isTimestamp && reader.TokenType == JsonTokenType.String && reader.TryGetDateTimeOffset(out var written))
                {
                    timestamp = written;
                }
                else
                {
                    reader.Skip();
                }
            }
        }
        catch (JsonException)
        {
            // Not JSON, or not all of it: the fields read so far stand, and the scorer reports the line's error.
        }

        return (key, timestamp);
    }
}

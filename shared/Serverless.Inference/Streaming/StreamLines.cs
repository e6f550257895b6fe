using System.Buffers;
using System.Text.Json;
using System.Text.Unicode;

namespace Serverless.Inference.Streaming;

/// <summary>
/// Records to JSON lines for the batch scorer, and its result lines back to per-record results. A record is one line:
/// line breaks between JSON tokens become spaces (a pretty-printed object is still one record); a line break inside a
/// string is not valid JSON and is the record's error. For a model with one text input, a record that is not a JSON
/// object or array is the text itself.
/// </summary>
internal static class StreamLines
{
    private static readonly JsonWriterOptions WriterOptions = new() { SkipValidation = false };

    /// <summary>Appends the record as one line.</summary>
    /// <returns>Null, or the record's error when it cannot be one line.</returns>
    public static string? Append(ArrayBufferWriter<byte> input, ReadOnlySpan<byte> payload, bool textRows)
    {
        var start = payload.TrimStart(" \t\r\n"u8);
        if (textRows && !start.IsEmpty && start[0] is not ((byte)'{' or (byte)'['))
        {
            return start[0] == (byte)'"' ? AppendJson(input, payload, "["u8, "]"u8) : AppendText(input, payload);
        }

        return AppendJson(input, payload, default, default);
    }

    /// <summary>The batch scorer's result lines, <c>{"line":n,"outputs"|"response"|"error":...}</c>, in order.</summary>
    public static IEnumerable<(StreamResultKind Kind, ReadOnlyMemory<byte> Json, string? Error)> ReadResults(ReadOnlyMemory<byte> output)
    {
        while (!output.IsEmpty)
        {
            var end = output.Span.IndexOf((byte)'\n');
            var line = end < 0 ? output : output[..end];
            output = end < 0 ? default : output[(end + 1)..];
            yield return Read(line);
        }
    }

    private static (StreamResultKind Kind, ReadOnlyMemory<byte> Json, string? Error) Read(ReadOnlyMemory<byte> line)
    {
        // The scorer writes {"line":n,"outputs":{...}} and {"line":n,"response":{...}}: the value is sliced, not parsed.
        var span = line.Span;
        var comma = span.IndexOf((byte)',');
        if (comma > 0 && span[^1] == (byte)'}')
        {
            var member = span[(comma + 1)..];
            if (member.StartsWith("\"outputs\":"u8))
            {
                return (StreamResultKind.Outputs, line[(comma + 1 + "\"outputs\":"u8.Length)..^1], null);
            }

            if (member.StartsWith("\"response\":"u8))
            {
                return (StreamResultKind.Response, line[(comma + 1 + "\"response\":"u8.Length)..^1], null);
            }
        }

        var reader = new Utf8JsonReader(line.Span);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var kind = reader.ValueTextEquals("outputs"u8) ? StreamResultKind.Outputs
                : reader.ValueTextEquals("response"u8) ? StreamResultKind.Response
                : reader.ValueTextEquals("error"u8) ? StreamResultKind.Error
                : (StreamResultKind?)null;
            reader.Read();
            if (kind == StreamResultKind.Error)
            {
                return (StreamResultKind.Error, default, reader.GetString());
            }

            if (kind is { } found)
            {
                var from = (int)reader.TokenStartIndex;
                reader.Skip();
                return (found, line[from..(int)reader.BytesConsumed], null);
            }

            reader.Skip();
        }

        throw new InvalidOperationException("the batch scorer wrote a result line without outputs, response or error");
    }

    private static string? AppendJson(ArrayBufferWriter<byte> input, ReadOnlySpan<byte> payload, ReadOnlySpan<byte> before, ReadOnlySpan<byte> after)
    {
        if (payload.IndexOfAny((byte)'\n', (byte)'\r') < 0)
        {
            input.Write(before);
            input.Write(payload);
            input.Write(after);
            input.Write("\n"u8);
            return null;
        }

        var target = input.GetSpan(before.Length + payload.Length + after.Length + 1);
        before.CopyTo(target);
        var at = before.Length;
        var inString = false;
        var escaped = false;
        foreach (var b in payload)
        {
            if (b is (byte)'\n' or (byte)'\r')
            {
                if (inString)
                {
                    return "not valid JSON: a line break inside a string";
                }

                target[at++] = (byte)' ';
                continue;
            }

            if (inString)
            {
                inString = escaped || b != (byte)'"';
                escaped = !escaped && b == (byte)'\\';
            }
            else
            {
                inString = b == (byte)'"';
            }

            target[at++] = b;
        }

        after.CopyTo(target[at..]);
        at += after.Length;
        target[at++] = (byte)'\n';
        input.Advance(at);
        return null;
    }

    private static string? AppendText(ArrayBufferWriter<byte> input, ReadOnlySpan<byte> text)
    {
        if (!Utf8.IsValid(text))
        {
            return "the record is not valid UTF-8";
        }

        using var writer = new Utf8JsonWriter(input, WriterOptions);
        writer.WriteStartArray();
        writer.WriteStringValue(text);
        writer.WriteEndArray();
        writer.Flush();
        input.Write("\n"u8);
        return null;
    }
}

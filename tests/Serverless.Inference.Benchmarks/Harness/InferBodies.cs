using System.Buffers;
using System.Globalization;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Serverless.Inference.Benchmarks.Harness;

/// <summary>Open Inference Protocol request bodies, built once before timing starts.</summary>
internal static class InferBodies
{
    public const string HeaderLengthHeader = "Inference-Header-Content-Length";

    public static readonly MediaTypeHeaderValue Json = new("application/json");

    public static readonly MediaTypeHeaderValue OctetStream = new("application/octet-stream");

    /// <summary>A JSON request with the data inline.</summary>
    public static byte[] JsonRequest(string input, long[] shape, ReadOnlySpan<float> data)
    {
        var buffer = new ArrayBufferWriter<byte>(data.Length * 12 + 256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("inputs"u8);
            writer.WriteStartObject();
            writer.WriteString("name"u8, input);
            WriteShape(writer, shape);
            writer.WriteString("datatype"u8, "FP32"u8);
            writer.WriteStartArray("data"u8);
            foreach (var value in data)
            {
                writer.WriteNumberValue(value);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>A binary tensor extension request: JSON header, then the raw little-endian floats; outputs asked for as binary.</summary>
    public static (byte[] Body, int HeaderLength) BinaryRequest(string input, long[] shape, ReadOnlySpan<float> data)
    {
        var bytes = MemoryMarshal.AsBytes(data);
        var buffer = new ArrayBufferWriter<byte>(bytes.Length + 256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("inputs"u8);
            writer.WriteStartObject();
            writer.WriteString("name"u8, input);
            WriteShape(writer, shape);
            writer.WriteString("datatype"u8, "FP32"u8);
            writer.WriteStartObject("parameters"u8);
            writer.WriteNumber("binary_data_size"u8, bytes.Length);
            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.WriteEndArray();
            writer.WriteStartObject("parameters"u8);
            writer.WriteBoolean("binary_data_output"u8, true);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        var headerLength = buffer.WrittenCount;
        buffer.Write(bytes);
        return (buffer.WrittenSpan.ToArray(), headerLength);
    }

    public static HttpRequestMessage Post(Uri uri, byte[] body, int? binaryHeaderLength)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, uri) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = binaryHeaderLength is null ? Json : OctetStream;
        if (binaryHeaderLength is { } length)
        {
            request.Headers.TryAddWithoutValidation(HeaderLengthHeader, length.ToString(CultureInfo.InvariantCulture));
        }

        return request;
    }

    /// <summary>The first output of a response, JSON or binary, as floats; for checking answers, not timed.</summary>
    public static float[] FirstOutput(HttpResponseMessage response, byte[] body)
    {
        ArgumentNullException.ThrowIfNull(response);
        ArgumentNullException.ThrowIfNull(body);
        var headerLength = response.Headers.TryGetValues(HeaderLengthHeader, out var values)
            ? int.Parse(values.First(), CultureInfo.InvariantCulture)
            : body.Length;
        using var document = JsonDocument.Parse(body.AsMemory(0, headerLength));
        var output = document.RootElement.GetProperty("outputs")[0];
        if (output.TryGetProperty("data", out var data))
        {
            return [.. data.EnumerateArray().Select(e => e.GetSingle())];
        }

        var size = output.GetProperty("parameters").GetProperty("binary_data_size").GetInt32();
        return MemoryMarshal.Cast<byte, float>(body.AsSpan(headerLength, size)).ToArray();
    }

    private static void WriteShape(Utf8JsonWriter writer, long[] shape)
    {
        writer.WriteStartArray("shape"u8);
        foreach (var dimension in shape)
        {
            writer.WriteNumberValue(dimension);
        }

        writer.WriteEndArray();
    }
}

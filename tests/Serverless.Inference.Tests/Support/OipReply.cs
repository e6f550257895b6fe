using System.Globalization;
using System.Text;
using System.Text.Json;
using Serverless.Inference.Protocol;

namespace Serverless.Inference.Tests.Support;

/// <summary>
/// An Open Inference Protocol answer, read the same way whether it came over HTTP or straight from the
/// handler: the status, the JSON part (the first Inference-Header-Content-Length bytes when that header is
/// present, else the whole body) and the binary tail.
/// </summary>
public sealed class OipReply
{
    private readonly byte[] _body;

    public OipReply(int status, string? contentType, IReadOnlyDictionary<string, string> headers, byte[] body)
    {
        Status = status;
        ContentType = contentType;
        Headers = headers;
        _body = body;
        JsonLength = headers.TryGetValue(OipHeaders.InferenceHeaderContentLength, out var length)
            ? int.Parse(length, NumberStyles.None, CultureInfo.InvariantCulture)
            : body.Length;
        Assert.InRange(JsonLength, 0, body.Length);
        JsonText = Encoding.UTF8.GetString(body, 0, JsonLength);
        Json = JsonLength == 0 ? default : JsonDocument.Parse(body.AsMemory(0, JsonLength)).RootElement.Clone();
    }

    public int Status { get; }

    public string? ContentType { get; }

    /// <summary>Response headers besides Content-Type, with case-insensitive names.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; }

    public int JsonLength { get; }

    public string JsonText { get; }

    public JsonElement Json { get; }

    public ReadOnlyMemory<byte> Body => _body;

    /// <summary>Everything after the JSON header.</summary>
    public byte[] BinaryTail => _body[JsonLength..];

    /// <summary>The <c>error</c> text of an error answer; fails the test when there is none.</summary>
    public string Error
    {
        get
        {
            Assert.True(Json.ValueKind == JsonValueKind.Object && Json.TryGetProperty("error", out _), $"expected an error body, got {JsonText}");
            return Json.GetProperty("error").GetString()!;
        }
    }

    public IReadOnlyList<JsonElement> Outputs => [.. Json.GetProperty("outputs").EnumerateArray()];

    public IReadOnlyList<string> OutputNames => [.. Outputs.Select(o => o.GetProperty("name").GetString()!)];

    public JsonElement Output(string name) =>
        Outputs.SingleOrDefault(o => o.GetProperty("name").GetString() == name) is { ValueKind: JsonValueKind.Object } output
            ? output
            : throw new Xunit.Sdk.XunitException($"no output '{name}' in {JsonText}");

    /// <summary>The <c>data</c> array of a JSON output.</summary>
    public IReadOnlyList<JsonElement> Data(string name) => [.. Output(name).GetProperty("data").EnumerateArray()];

    public long[] Shape(string name) => [.. Output(name).GetProperty("shape").EnumerateArray().Select(d => d.GetInt64())];

    /// <summary>
    /// The bytes of a binary output: the binary tail holds the binary outputs in the order the JSON lists them,
    /// each <c>binary_data_size</c> long.
    /// </summary>
    public byte[] BinaryOutput(string name)
    {
        var offset = 0;
        foreach (var output in Outputs)
        {
            if (!output.TryGetProperty("parameters", out var parameters) || !parameters.TryGetProperty("binary_data_size", out var size))
            {
                continue;
            }

            var length = size.GetInt32();
            if (output.GetProperty("name").GetString() == name)
            {
                Assert.False(output.TryGetProperty("data", out _), $"binary output '{name}' also has JSON data");
                Assert.InRange(offset + length, 0, BinaryTail.Length);
                return BinaryTail.AsSpan(offset, length).ToArray();
            }

            offset += length;
        }

        throw new Xunit.Sdk.XunitException($"no binary output '{name}' in {JsonText}");
    }

    /// <summary>Asserts an error answer: the status, a JSON content type, and a message containing each fragment.</summary>
    public OipReply AssertError(int status, params string[] fragments)
    {
        Assert.True(status == Status, $"expected {status}, got {Status}: {JsonText}");
        Assert.Equal(OipHeaders.Json, ContentType);
        foreach (var fragment in fragments)
        {
            Assert.Contains(fragment, Error, StringComparison.Ordinal);
        }

        return this;
    }

    public OipReply AssertOk()
    {
        Assert.True(Status == 200, $"expected 200, got {Status}: {JsonText}");
        return this;
    }

    public override string ToString() => $"{Status} {JsonText}";
}

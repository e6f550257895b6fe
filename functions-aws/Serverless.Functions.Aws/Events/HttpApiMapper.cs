using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Serverless.Inference.Protocol;

namespace Serverless.Functions.Aws.Events;

/// <summary>Translates API Gateway HTTP API (payload 2.0) events to the core's requests, and responses back.</summary>
internal static class HttpApiMapper
{
    /// <summary>Lambda's limit on a synchronous invocation's response document.</summary>
    public const int MaxResponseBytes = 6 * 1024 * 1024;

    private const string DefaultStage = "$default";

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The core's request, or null with the reason the event cannot be one.</summary>
    public static OipHttpRequest? TryMap(HttpApiRequest request, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(request);
        var method = request.RequestContext?.Http?.Method;
        problem = request switch
        {
            { Version: not null and not "2.0" } => $"payload format version '{request.Version}' is not supported; configure the integration with payload format 2.0",
            _ when string.IsNullOrEmpty(method) => "the event has no requestContext.http.method",
            { RawPath: null or "" } => "the event has no rawPath",
            { RawPath: var path } when path[0] != '/' => "the event's rawPath does not start with '/'",
            _ => null,
        };
        if (problem is not null)
        {
            return null;
        }

        byte[] body;
        if (request.Body is null)
        {
            body = [];
        }
        else if (request.IsBase64Encoded)
        {
            body = new byte[request.Body.Length / 4 * 3 + 3];
            if (!Convert.TryFromBase64String(request.Body, body, out var written))
            {
                problem = "the body is marked isBase64Encoded but is not valid base64";
                return null;
            }

            Array.Resize(ref body, written);
        }
        else
        {
            body = Encoding.UTF8.GetBytes(request.Body);
        }

        var headers = Headers(request);
        return new OipHttpRequest(
            method!.ToUpperInvariant(),
            StripStage(request.RawPath!, request.RequestContext?.Stage),
            name => headers.TryGetValue(name, out var value) ? value : null,
            new MemoryStream(body, writable: false),
            body.Length);
    }

    /// <summary>HTTP APIs with a named stage put it in front of the path: <c>/prod/v2/models</c> is <c>/v2/models</c>.</summary>
    public static string StripStage(string rawPath, string? stage)
    {
        if (string.IsNullOrEmpty(stage) || stage == DefaultStage)
        {
            return rawPath;
        }

        var prefix = "/" + stage;
        if (!rawPath.StartsWith(prefix, StringComparison.Ordinal))
        {
            return rawPath;
        }

        return rawPath.Length == prefix.Length ? "/" : rawPath[prefix.Length] == '/' ? rawPath[prefix.Length..] : rawPath;
    }

    /// <summary>The 2.0 response document; a 413 JSON error instead when it would pass Lambda's 6 MB limit.</summary>
    public static byte[] WriteResponse(OipHttpResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        var document = Write(response.StatusCode, response.ContentType, response.Headers, response.Body.Span);
        return document.Length <= MaxResponseBytes
            ? document
            : WriteError(413, string.Create(
                CultureInfo.InvariantCulture,
                $"the response would be {document.Length} bytes, over Lambda's limit of {MaxResponseBytes} bytes for a synchronous response; send fewer rows per request or use batch scoring"));
    }

    public static byte[] WriteError(int status, string message)
    {
        var body = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(body, WriterOptions))
        {
            json.WriteStartObject();
            json.WriteString("error"u8, message);
            json.WriteEndObject();
        }

        return Write(status, OipHeaders.Json, [], body.WrittenSpan);
    }

    private static byte[] Write(int status, string contentType, IReadOnlyList<KeyValuePair<string, string>> headers, ReadOnlySpan<byte> body)
    {
        // A compressed body is bytes whatever its type says; sent as text, API Gateway would re-encode it as UTF-8.
        var asText = IsText(contentType) && !IsEncoded(headers) && System.Text.Unicode.Utf8.IsValid(body);
        // Base64 takes 4/3 of the body; escaping JSON text can take more, which the writer grows into.
        var document = new ArrayBufferWriter<byte>(Math.Max(256, body.Length / 3 * 4 + 512));
        using (var json = new Utf8JsonWriter(document, WriterOptions))
        {
            json.WriteStartObject();
            json.WriteNumber("statusCode"u8, status);
            json.WriteStartObject("headers"u8);
            json.WriteString("content-type"u8, contentType);
            foreach (var (name, value) in headers)
            {
                json.WriteString(name.ToLowerInvariant(), value);
            }

            json.WriteEndObject();
            json.WriteBoolean("isBase64Encoded"u8, !asText);
            if (asText)
            {
                json.WriteString("body"u8, body);
            }
            else
            {
                json.WriteBase64String("body"u8, body);
            }

            json.WriteEndObject();
        }

        return document.WrittenSpan.ToArray();
    }

    private static bool IsEncoded(IReadOnlyList<KeyValuePair<string, string>> headers) =>
        headers.Any(h => h.Key.Equals("Content-Encoding", StringComparison.OrdinalIgnoreCase) && !h.Value.Equals("identity", StringComparison.OrdinalIgnoreCase));

    private static bool IsText(string contentType) =>
        contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase)
        || contentType.StartsWith("text/", StringComparison.OrdinalIgnoreCase);

    /// <summary>Header names are matched ignoring case; cookies (sent apart in 2.0) come back as one Cookie header.</summary>
    private static Dictionary<string, string> Headers(HttpApiRequest request)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in request.Headers ?? [])
        {
            headers[name] = headers.TryGetValue(name, out var earlier) ? earlier + "," + value : value;
        }

        if (request.Cookies is { Length: > 0 } cookies)
        {
            headers["cookie"] = string.Join("; ", cookies);
        }

        return headers;
    }
}

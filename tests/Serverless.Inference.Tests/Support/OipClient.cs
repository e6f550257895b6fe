using System.Buffers.Binary;
using System.Globalization;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text;
using Serverless.Inference.Protocol;

namespace Serverless.Inference.Tests.Support;

/// <summary>An HTTP client for the Open Inference Protocol routes of a running server.</summary>
public sealed class OipClient : IDisposable
{
    /// <summary>A guard against a test hanging forever; never a timing assertion.</summary>
    public static readonly TimeSpan HangGuard = TimeSpan.FromMinutes(2);

    public OipClient(Uri baseAddress)
    {
        Http = new HttpClient { BaseAddress = baseAddress, Timeout = HangGuard };
    }

    public HttpClient Http { get; }

    public Uri BaseAddress => Http.BaseAddress!;

    public Task<OipReply> GetAsync(string path, CancellationToken cancellationToken = default) =>
        SendAsync(new HttpRequestMessage(HttpMethod.Get, path), cancellationToken);

    public Task<OipReply> PostAsync(string path, HttpContent content, CancellationToken cancellationToken = default) =>
        SendAsync(new HttpRequestMessage(HttpMethod.Post, path) { Content = content }, cancellationToken);

    /// <summary>POSTs a JSON body to <c>/v2/models/{model}/infer</c>.</summary>
    public Task<OipReply> InferAsync(string model, string json, CancellationToken cancellationToken = default) =>
        PostAsync($"/v2/models/{model}/infer", Json(json), cancellationToken);

    /// <summary>POSTs a JSON header followed by binary tensor data, with Inference-Header-Content-Length.</summary>
    public Task<OipReply> InferBinaryAsync(string model, string json, byte[] binary, CancellationToken cancellationToken = default) =>
        PostAsync($"/v2/models/{model}/infer", BinaryBody(json, binary), cancellationToken);

    public async Task<OipReply> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken = default)
    {
        using (request)
        {
            using var response = await Http.SendAsync(request, cancellationToken);
            return await ReadAsync(response, cancellationToken);
        }
    }

    public static async Task<OipReply> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken = default)
    {
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            if (!name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase))
            {
                headers[name] = string.Join(", ", values);
            }
        }

        return new OipReply((int)response.StatusCode, response.Content.Headers.ContentType?.MediaType, headers, body);
    }

    public static ByteArrayContent Json(string json)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(json));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    public static ByteArrayContent BinaryBody(string json, byte[] binary)
    {
        var header = Encoding.UTF8.GetBytes(json);
        var content = new ByteArrayContent([.. header, .. binary]);
        content.Headers.ContentType = new MediaTypeHeaderValue(OipHeaders.Binary);
        content.Headers.Add(OipHeaders.InferenceHeaderContentLength, header.Length.ToString(CultureInfo.InvariantCulture));
        return content;
    }

    /// <summary>The little-endian bytes of numeric elements, as the binary extension sends them.</summary>
    public static byte[] Raw<T>(params T[] values)
        where T : unmanaged => MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    /// <summary>BYTES elements in the binary extension's layout: a 4-byte little-endian length, then the bytes.</summary>
    public static byte[] LengthPrefixed(params byte[][] elements)
    {
        var result = new List<byte>();
        Span<byte> prefix = stackalloc byte[4];
        foreach (var element in elements)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(prefix, (uint)element.Length);
            result.AddRange(prefix);
            result.AddRange(element);
        }

        return [.. result];
    }

    /// <summary>UTF-8 strings as BYTES elements in the binary layout.</summary>
    public static byte[] LengthPrefixed(params string[] elements) =>
        LengthPrefixed([.. elements.Select(Encoding.UTF8.GetBytes)]);

    /// <summary>
    /// Sends a request line exactly as given over a fresh connection, past any client-side URI normalization,
    /// and reads the answer (Connection: close, so the body ends where the stream does).
    /// </summary>
    public async Task<OipReply> SendRawAsync(string method, string target, CancellationToken cancellationToken = default)
    {
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(BaseAddress.Host, BaseAddress.Port, cancellationToken);
        var stream = tcp.GetStream();
        var request = $"{method} {target} HTTP/1.1\r\nHost: {BaseAddress.Authority}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request), cancellationToken);
        using var received = new MemoryStream();
        await stream.CopyToAsync(received, cancellationToken).WaitAsync(HangGuard, cancellationToken);
        var raw = received.ToArray();

        var headerEnd = raw.AsSpan().IndexOf("\r\n\r\n"u8);
        Assert.True(headerEnd > 0, "no HTTP response header");
        var lines = Encoding.ASCII.GetString(raw, 0, headerEnd).Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], CultureInfo.InvariantCulture);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        string? contentType = null;
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var (name, value) = (line[..colon].Trim(), line[(colon + 1)..].Trim());
            if (name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase))
            {
                contentType = value.Split(';')[0];
            }
            else
            {
                headers[name] = value;
            }
        }

        Assert.False(headers.ContainsKey("Transfer-Encoding"), "a chunked answer; expected a Content-Length");
        return new OipReply(status, contentType, headers, raw[(headerEnd + 4)..]);
    }

    public void Dispose() => Http.Dispose();
}

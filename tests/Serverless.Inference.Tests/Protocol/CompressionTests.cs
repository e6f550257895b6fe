using System.Globalization;
using System.IO.Compression;
using System.Text;
using Serverless.Inference.Protocol;
using Serverless.Inference.Tests.Support;

namespace Serverless.Inference.Tests.Protocol;

/// <summary>
/// Compressed bodies through the core handler, as tritonclient/http/_client.py's infer() sends them:
/// request_compression_algorithm="gzip" is <c>gzip.compress(body)</c> with <c>Content-Encoding: gzip</c>, "deflate" is
/// <c>zlib.compress(body)</c> (the zlib format) with <c>Content-Encoding: deflate</c>; Inference-Header-Content-Length is
/// the JSON size before compression; response_compression_algorithm sets <c>Accept-Encoding</c> to the one name, and
/// _infer_result.py undoes <c>Content-Encoding</c> before it reads Inference-Header-Content-Length bytes of JSON.
/// </summary>
public sealed class CompressionTests : IDisposable
{
    private const int Limit = 64 * 1024;
    private const string Model = "identity";

    private static readonly string LargeRequest = InferJson(400);

    private readonly TempModelRepository _repository = new TempModelRepository().Add(Model, OnnxTestModels.Identity(OnnxElementType.Float));
    private readonly OipHandlerHarness _harness;

    public CompressionTests()
    {
        _harness = new OipHandlerHarness(_repository.Root, new RequestLimits { MaxRequestBytes = Limit });
    }

    public void Dispose()
    {
        _harness.Dispose();
        _repository.Dispose();
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("deflate")]
    [InlineData("identity")]
    [InlineData("GZIP")]
    public async Task Infer_EncodedRequest_IsDecoded(string coding)
    {
        var json = InferJson(3);

        var reply = await SendAsync(Encode(Encoding.UTF8.GetBytes(json), coding), new() { ["Content-Encoding"] = coding });

        reply.AssertOk();
        Assert.Equal([0f, 1f, 2f], reply.Data("y").Select(v => v.GetSingle()));
    }

    [Fact]
    public async Task Infer_GzipBinaryRequest_HeaderLengthCountsTheUncompressedJson()
    {
        var header = Encoding.UTF8.GetBytes("""{"inputs":[{"name":"x","datatype":"FP32","shape":[2],"parameters":{"binary_data_size":8}}]}""");
        byte[] body = [.. header, .. OipClient.Raw(1.5f, -2f)];

        var reply = await SendAsync(Encode(body, "gzip"), new()
        {
            ["Content-Encoding"] = "gzip",
            [OipHeaders.InferenceHeaderContentLength] = header.Length.ToString(CultureInfo.InvariantCulture),
        });

        reply.AssertOk();
        Assert.Equal([1.5f, -2f], reply.Data("y").Select(v => v.GetSingle()));
    }

    [Theory]
    [InlineData("br")]
    [InlineData("gzip, br")]
    [InlineData("compress")]
    public async Task Infer_UnsupportedEncoding_Returns415WithTheSupportedOnes(string coding)
    {
        var reply = await SendAsync(Encoding.UTF8.GetBytes(InferJson(1)), new() { ["Content-Encoding"] = coding });

        reply.AssertError(415, "Content-Encoding", "not supported");
        Assert.Equal("gzip, deflate", reply.Headers["Accept-Encoding"]);
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("deflate")]
    public async Task Infer_CorruptBody_Returns400(string coding)
    {
        var reply = await SendAsync("definitely not compressed"u8.ToArray(), new() { ["Content-Encoding"] = coding });

        reply.AssertError(400, $"not valid {coding} data");
    }

    [Fact]
    public async Task Infer_GzipWithDamagedMiddle_Returns400()
    {
        var body = Encode(Encoding.UTF8.GetBytes(LargeRequest), "gzip");
        body[body.Length / 2] ^= 0xff;
        body[(body.Length / 2) + 1] ^= 0xff;

        var reply = await SendAsync(body, new() { ["Content-Encoding"] = "gzip" });

        Assert.Equal(400, reply.Status);
    }

    [Fact]
    public async Task Infer_RawDeflateNotZlib_Returns400()
    {
        using var raw = new MemoryStream();
        using (var deflate = new DeflateStream(raw, CompressionLevel.Fastest, leaveOpen: true))
        {
            deflate.Write(Encoding.UTF8.GetBytes(InferJson(1)));
        }

        var reply = await SendAsync(raw.ToArray(), new() { ["Content-Encoding"] = "deflate" });

        reply.AssertError(400, "not valid deflate data");
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("deflate")]
    public async Task Infer_BombPastTheLimit_Returns413AfterInflatingOnlyPastTheLimit(string coding)
    {
        // 48 MiB of zeros compress to about 48 KB, under the 64 KiB limit as sent: only the decompressed size can refuse it.
        var bomb = Encode(new byte[48 << 20], coding);
        Assert.InRange(bomb.Length, 1, Limit);
        using var body = new CountingStream(bomb);

        var reply = await SendAsync(body, new() { ["Content-Encoding"] = coding }, bomb.Length);

        reply.AssertError(413, "once decompressed", $"limit of {Limit} bytes");
        // Inflating all 48 MiB would read the whole body; stopping just past 64 KiB reads one buffer of it.
        Assert.InRange(body.BytesRead, 1, bomb.Length / 2);
    }

    [Fact]
    public async Task Infer_CompressedBodyOverTheLimitAsSent_Returns413()
    {
        var incompressible = new byte[Limit * 2];
        new Random(7).NextBytes(incompressible);
        var body = Encode(incompressible, "gzip");

        var reply = await SendAsync(new MemoryStream(body), new() { ["Content-Encoding"] = "gzip" }, contentLength: null);

        reply.AssertError(413);
    }

    [Fact]
    public async Task Infer_DecompressedExactlyAtLimit_IsNotRefusedForSize()
    {
        var json = Encoding.UTF8.GetBytes(InferJson(1));
        var padded = new byte[Limit];
        padded.AsSpan().Fill((byte)' ');
        json.CopyTo(padded, 0);

        var reply = await SendAsync(Encode(padded, "gzip"), new() { ["Content-Encoding"] = "gzip" });

        reply.AssertOk();
    }

    [Theory]
    [InlineData("gzip", "gzip")]
    [InlineData("deflate", "deflate")]
    [InlineData("gzip, deflate", "gzip")]
    [InlineData("gzip;q=0.5, deflate", "deflate")]
    [InlineData("gzip;q=0, deflate;q=0", null)]
    [InlineData("identity", null)]
    [InlineData("identity;q=1, gzip;q=0.5", null)]
    [InlineData("*", "gzip")]
    [InlineData("*;q=0.1, identity;q=0", "gzip")]
    [InlineData("br", null)]
    [InlineData("gzip;q=bogus", null)]
    [InlineData("", null)]
    public async Task Infer_AcceptEncoding_PicksTheCoding(string acceptEncoding, string? expected)
    {
        var plain = await SendAsync(Encoding.UTF8.GetBytes(LargeRequest), []);
        var reply = await SendAsync(Encoding.UTF8.GetBytes(LargeRequest), new() { ["Accept-Encoding"] = acceptEncoding });

        Assert.Equal(expected, reply.Headers.GetValueOrDefault("Content-Encoding"));
        Assert.Equal("Accept-Encoding", reply.Headers["Vary"]);
        Assert.Equal(plain.Body.ToArray(), reply.Body.ToArray());
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("deflate")]
    public async Task Infer_BinaryResponseCompressed_HeaderLengthStaysTheJsonLength(string coding)
    {
        var json = InferJson(400).Replace("}]}", "}],\"outputs\":[{\"name\":\"y\",\"parameters\":{\"binary_data\":true}}]}", StringComparison.Ordinal);
        var plain = await SendAsync(Encoding.UTF8.GetBytes(json), []);

        var reply = await SendAsync(Encoding.UTF8.GetBytes(json), new() { ["Accept-Encoding"] = coding });

        Assert.Equal(coding, reply.Headers["Content-Encoding"]);
        Assert.Equal(plain.Headers[OipHeaders.InferenceHeaderContentLength], reply.Headers[OipHeaders.InferenceHeaderContentLength]);
        Assert.Equal(1600, reply.BinaryOutput("y").Length);
    }

    [Fact]
    public async Task SmallResponse_IsNotCompressed()
    {
        var reply = await _harness.SendAsync("GET", "/v2/health/live", headers: new Dictionary<string, string> { ["Accept-Encoding"] = "gzip" });

        reply.AssertOk();
        Assert.False(reply.Headers.ContainsKey("Content-Encoding"));
    }

    [Fact]
    public async Task RepositoryIndex_GzipEmptyBody_IsServed()
    {
        var reply = await _harness.SendAsync("POST", "/v2/repository/index", Encode([], "gzip"), new Dictionary<string, string> { ["Content-Encoding"] = "gzip" });

        reply.AssertOk();
    }

    internal static string InferJson(int count) =>
        $$"""{"inputs":[{"name":"x","datatype":"FP32","shape":[{{count}}],"data":[{{string.Join(',', Enumerable.Range(0, count))}}]}]}""";

    internal static byte[] Encode(byte[] body, string coding)
    {
        using var target = new MemoryStream();
        using (Stream encoder = coding.ToLowerInvariant() switch
        {
            "gzip" => new GZipStream(target, CompressionLevel.SmallestSize, leaveOpen: true),
            "deflate" => new ZLibStream(target, CompressionLevel.SmallestSize, leaveOpen: true),
            _ => new MemoryStream(),
        })
        {
            encoder.Write(body);
            if (encoder is MemoryStream identity)
            {
                return identity.ToArray();
            }
        }

        return target.ToArray();
    }

    private Task<OipReply> SendAsync(byte[] body, Dictionary<string, string> headers) =>
        SendAsync(new MemoryStream(body, writable: false), headers, body.Length);

    /// <summary>Sends straight to the handler and undoes the response's Content-Encoding (the header stays, to assert on).</summary>
    private async Task<OipReply> SendAsync(Stream body, Dictionary<string, string> headers, long? contentLength)
    {
        var lookup = new Dictionary<string, string>(headers, StringComparer.OrdinalIgnoreCase);
        var request = new OipHttpRequest("POST", $"/v2/models/{Model}/infer", name => lookup.GetValueOrDefault(name), body, contentLength);
        using var response = await _harness.Handler.HandleAsync(request, CancellationToken.None);
        var replyHeaders = response.Headers.ToDictionary(h => h.Key, h => h.Value, StringComparer.OrdinalIgnoreCase);
        return new OipReply(response.StatusCode, response.ContentType, replyHeaders, Decode(response.Body.ToArray(), replyHeaders.GetValueOrDefault("Content-Encoding")));
    }

    internal static byte[] Decode(byte[] body, string? coding)
    {
        if (coding is null)
        {
            return body;
        }

        using var source = new MemoryStream(body);
        using Stream decoder = coding == "gzip" ? new GZipStream(source, CompressionMode.Decompress) : new ZLibStream(source, CompressionMode.Decompress);
        using var plain = new MemoryStream();
        decoder.CopyTo(plain);
        return plain.ToArray();
    }

    private sealed class CountingStream(byte[] data) : MemoryStream(data, writable: false)
    {
        public long BytesRead { get; private set; }

        public override int Read(byte[] buffer, int offset, int count) => Counted(base.Read(buffer, offset, count));

        public override int Read(Span<byte> buffer) => Counted(base.Read(buffer));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Counted(await base.ReadAsync(buffer, cancellationToken));

        private int Counted(int read)
        {
            BytesRead += read;
            return read;
        }
    }
}

using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Serverless.Functions.Azure.Http;
using Serverless.Inference.Hosting;
using Serverless.Inference.Protocol;
using Serverless.Inference.Repository;

namespace Serverless.Functions.Azure.Tests.Http;

/// <summary>
/// Compressed bodies and Triton's extensions through the HTTP trigger. The request follows tritonclient's
/// infer(request_compression_algorithm="deflate"/"gzip", response_compression_algorithm=...) in
/// tritonclient/http/_client.py: <c>zlib.compress</c> or <c>gzip.compress</c> of the body, the coding's name in
/// Content-Encoding and in Accept-Encoding.
/// </summary>
public sealed class CompressionFunctionsTests : IDisposable
{
    private readonly string _cache = Directory.CreateTempSubdirectory("azure-http-cache-").FullName;
    private readonly ModelHost _host;
    private readonly OpenInferenceFunctions _functions;

    public CompressionFunctionsTests()
    {
        _host = new ModelHost(new LocalFolderModelStore(Path.Combine(AppContext.BaseDirectory, "models")), new ModelHostOptions { CacheDirectory = _cache });
        _functions = new OpenInferenceFunctions(new OpenInferenceHandler(_host, new RequestLimits { MaxRequestBytes = 64 * 1024 }));
    }

    public void Dispose()
    {
        _host.Dispose();
        Directory.Delete(_cache, recursive: true);
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("deflate")]
    public async Task ProtocolAsync_CompressedRequestAcceptingCompression_AnswersCompressed(string coding)
    {
        var context = Context("POST", "/v2/models/iris/infer", Encode(Encoding.UTF8.GetBytes(IrisRows(50)), coding));
        context.Request.Headers.ContentEncoding = coding;
        context.Request.Headers.AcceptEncoding = coding;

        await _functions.ProtocolAsync(context.Request);

        Assert.Equal(200, context.Response.StatusCode);
        Assert.Equal(coding, context.Response.Headers.ContentEncoding.ToString());
        Assert.Equal("Accept-Encoding", context.Response.Headers.Vary.ToString());
        var sent = ((MemoryStream)context.Response.Body).ToArray();
        Assert.Equal(sent.Length, context.Response.ContentLength);
        using var json = JsonDocument.Parse(Decode(sent, coding));
        Assert.Equal("iris", json.RootElement.GetProperty("model_name").GetString());
    }

    [Fact]
    public async Task ProtocolAsync_BombPastTheLimit_Returns413()
    {
        var context = Context("POST", "/v2/models/iris/infer", Encode(new byte[32 << 20], "gzip"));
        context.Request.Headers.ContentEncoding = "gzip";

        await _functions.ProtocolAsync(context.Request);

        Assert.Equal(413, context.Response.StatusCode);
    }

    [Theory]
    [InlineData("load")]
    [InlineData("unload")]
    public async Task ProtocolAsync_ModelControl_IsOffOnAzure(string action)
    {
        var context = Context("POST", $"/v2/repository/models/iris/{action}", "{}"u8.ToArray());

        await _functions.ProtocolAsync(context.Request);

        Assert.Equal(403, context.Response.StatusCode);
        Assert.Contains("model control is off", Encoding.UTF8.GetString(((MemoryStream)context.Response.Body).ToArray()), StringComparison.Ordinal);
    }

    private static DefaultHttpContext Context(string method, string path, byte[] body)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Path = path;
        context.Request.Body = new MemoryStream(body);
        context.Request.ContentLength = body.Length;
        context.Response.Body = new MemoryStream();
        return context;
    }

    private static string IrisRows(int rows)
    {
        var data = string.Join(',', Enumerable.Repeat("6.3,3.3,6,2.5", rows));
        return string.Create(CultureInfo.InvariantCulture, $$"""{"inputs":[{"name":"Features","datatype":"FP32","shape":[{{rows}},4],"data":[{{data}}]}]}""");
    }

    private static byte[] Encode(byte[] body, string coding)
    {
        using var target = new MemoryStream();
        using (Stream encoder = coding == "gzip" ? new GZipStream(target, CompressionLevel.Optimal, leaveOpen: true) : new ZLibStream(target, CompressionLevel.Optimal, leaveOpen: true))
        {
            encoder.Write(body);
        }

        return target.ToArray();
    }

    private static byte[] Decode(byte[] body, string coding)
    {
        using var source = new MemoryStream(body);
        using Stream decoder = coding == "gzip" ? new GZipStream(source, CompressionMode.Decompress) : new ZLibStream(source, CompressionMode.Decompress);
        using var plain = new MemoryStream();
        decoder.CopyTo(plain);
        return plain.ToArray();
    }
}

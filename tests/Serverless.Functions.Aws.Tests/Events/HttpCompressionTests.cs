using System.Globalization;
using System.IO.Compression;

namespace Serverless.Functions.Aws.Tests.Events;

/// <summary>
/// Compressed bodies and Triton's extensions through API Gateway HTTP API events. The request follows tritonclient's
/// infer(request_compression_algorithm="gzip", response_compression_algorithm="gzip") in tritonclient/http/_client.py:
/// <c>gzip.compress(body)</c> with <c>Content-Encoding: gzip</c> and <c>Accept-Encoding: gzip</c>; API Gateway hands the
/// binary body over base64-encoded.
/// </summary>
public sealed class HttpCompressionTests : IClassFixture<LocalFunction>
{
    private readonly LocalFunction _function;

    public HttpCompressionTests(LocalFunction function) => _function = function;

    [Fact]
    public async Task HandleAsync_GzipRequestAcceptingGzip_AnswersGzipInBase64()
    {
        var body = Gzip(Encoding.UTF8.GetBytes(IrisRows(50)));
        var headers = new Dictionary<string, string> { ["content-encoding"] = "gzip", ["accept-encoding"] = "gzip" };

        var response = await _function.InvokeAsync(HttpApiEvents.Create("POST", "/v2/models/iris/infer", Convert.ToBase64String(body), base64: true, headers: headers));

        Assert.Equal(200, response.GetProperty("statusCode").GetInt32());
        Assert.True(response.GetProperty("isBase64Encoded").GetBoolean());
        var responseHeaders = response.GetProperty("headers");
        Assert.Equal("gzip", responseHeaders.GetProperty("content-encoding").GetString());
        Assert.Equal("Accept-Encoding", responseHeaders.GetProperty("vary").GetString());
        using var source = new MemoryStream(Convert.FromBase64String(response.GetProperty("body").GetString()!));
        using var gzip = new GZipStream(source, CompressionMode.Decompress);
        using var json = await JsonDocument.ParseAsync(gzip);
        Assert.Equal("iris", json.RootElement.GetProperty("model_name").GetString());
        Assert.Equal(50, json.RootElement.GetProperty("outputs")[0].GetProperty("shape")[0].GetInt32());
    }

    [Fact]
    public async Task HandleAsync_UnsupportedContentEncoding_Returns415()
    {
        var headers = new Dictionary<string, string> { ["content-encoding"] = "br" };

        var response = await _function.InvokeAsync(HttpApiEvents.Create("POST", "/v2/models/iris/infer", IrisRows(1), headers: headers));

        Assert.Equal(415, response.GetProperty("statusCode").GetInt32());
        Assert.Equal("gzip, deflate", response.GetProperty("headers").GetProperty("accept-encoding").GetString());
    }

    [Fact]
    public async Task HandleAsync_ModelConfig_AnswersTritonsConfig()
    {
        var response = await _function.InvokeAsync(HttpApiEvents.Create("GET", "/v2/models/iris/config"));

        Assert.Equal(200, response.GetProperty("statusCode").GetInt32());
        using var config = JsonDocument.Parse(response.GetProperty("body").GetString()!);
        Assert.Equal("onnxruntime", config.RootElement.GetProperty("backend").GetString());
    }

    [Theory]
    [InlineData("load")]
    [InlineData("unload")]
    public async Task HandleAsync_ModelControl_IsOffOnLambda(string action)
    {
        // tritonclient's load_model sends json.dumps({}); unload_model adds unload_dependents.
        var response = await _function.InvokeAsync(HttpApiEvents.Create("POST", $"/v2/repository/models/iris/{action}", "{}"));

        Assert.Equal(403, response.GetProperty("statusCode").GetInt32());
        using var error = JsonDocument.Parse(response.GetProperty("body").GetString()!);
        Assert.Contains("model control is off", error.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    private static string IrisRows(int rows)
    {
        var data = string.Join(',', Enumerable.Repeat("6.3,3.3,6,2.5", rows));
        return string.Create(CultureInfo.InvariantCulture, $$"""{"inputs":[{"name":"Features","datatype":"FP32","shape":[{{rows}},4],"data":[{{data}}]}]}""");
    }

    private static byte[] Gzip(byte[] body)
    {
        using var target = new MemoryStream();
        using (var gzip = new GZipStream(target, CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write(body);
        }

        return target.ToArray();
    }
}

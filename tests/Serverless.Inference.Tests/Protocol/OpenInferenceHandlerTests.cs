using System.Text;
using Serverless.Inference.Protocol;
using Serverless.Inference.Tests.Support;

namespace Serverless.Inference.Tests.Protocol;

/// <summary>
/// <see cref="OpenInferenceHandler.HandleAsync"/> with no transport in between: what every adapter gets,
/// including inputs no HTTP client would send, and a sweep of damaged bodies that must never give a 500.
/// </summary>
public sealed class OpenInferenceHandlerTests : IDisposable
{
    private const string ValidJson = """{"id":"r1","inputs":[{"name":"a","datatype":"FP32","shape":[1,3],"data":[1,2,3]},{"name":"b","datatype":"FP32","shape":[1,3],"data":[[4,5,6]]}],"outputs":[{"name":"sum"}],"parameters":{"p":1}}""";

    private readonly TempModelRepository _repository = new TempModelRepository()
        .Add("addfloat", OnnxTestModels.AddFloat())
        .Add("bytes", OnnxTestModels.Identity(OnnxElementType.String));

    private readonly OipHandlerHarness _harness;

    public OpenInferenceHandlerTests()
    {
        _harness = new OipHandlerHarness(_repository.Root);
    }

    public void Dispose()
    {
        _harness.Dispose();
        _repository.Dispose();
    }

    [Fact]
    public async Task HandleAsync_ValidJsonRequest_ReturnsSum()
    {
        var reply = await _harness.InferAsync("addfloat", ValidJson);

        reply.AssertOk();
        Assert.Equal("r1", reply.Json.GetProperty("id").GetString());
        Assert.Equal([5f, 7f, 9f], reply.Data("sum").Select(v => v.GetSingle()));
    }

    [Fact]
    public async Task HandleAsync_Head_IsAnsweredLikeGet()
    {
        var reply = await _harness.SendAsync("HEAD", "/v2/health/live");

        reply.AssertOk();
        Assert.True(reply.Json.GetProperty("live").GetBoolean());
    }

    [Theory]
    [InlineData("PUT")]
    [InlineData("GET")]
    [InlineData("DELETE")]
    public async Task HandleAsync_InferWithOtherMethod_Returns405AllowingPost(string method)
    {
        var reply = await _harness.SendAsync(method, "/v2/models/addfloat/infer", Encoding.UTF8.GetBytes(ValidJson));

        reply.AssertError(405, $"{method} is not allowed on /v2/models/addfloat/infer; use POST");
        Assert.Equal("POST", reply.Headers["Allow"]);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("")]
    [InlineData("/v3")]
    [InlineData("/v2x")]
    [InlineData("/v2/models/addfloat/infer/x")]
    public async Task HandleAsync_UnknownRoute_Returns404(string path)
    {
        var reply = await _harness.GetAsync(path);

        reply.AssertError(404, "no such route: GET");
    }

    [Fact]
    public async Task HandleAsync_UnknownRouteWithControlCharacters_QuotesItPrintably()
    {
        var reply = await _harness.GetAsync("/v2/x\r\ny");

        reply.AssertError(404, "no such route: GET /v2/x??y");
    }

    [Fact]
    public async Task HandleAsync_EmptyRepository_ReadyIs503()
    {
        using var empty = new TempModelRepository();
        using var harness = new OipHandlerHarness(empty.Root);

        var reply = await harness.GetAsync("/v2/health/ready");

        reply.AssertError(503, "holds no models");
    }

    [Fact]
    public async Task HandleAsync_TrailingSlashes_AreTolerated()
    {
        var reply = await _harness.GetAsync("/v2/models/addfloat/ready/");

        reply.AssertOk();
    }

    [Fact]
    public async Task HandleAsync_BinaryBytesWithEmptyAndNonUtf8Elements_RoundTripsExactBytes()
    {
        byte[] binary = OipClient.LengthPrefixed([], [0xff, 0x00, 0xfe], "✓"u8.ToArray());
        var header = $$$"""{"inputs":[{"name":"x","datatype":"BYTES","shape":[3],"parameters":{"binary_data_size":{{{binary.Length}}}}}],"parameters":{"binary_data_output":true}}""";

        var reply = await _harness.SendAsync(
            "POST",
            "/v2/models/bytes/infer",
            [.. Encoding.UTF8.GetBytes(header), .. binary],
            new Dictionary<string, string> { [OipHeaders.InferenceHeaderContentLength] = Encoding.UTF8.GetByteCount(header).ToString(System.Globalization.CultureInfo.InvariantCulture) });

        reply.AssertOk();
        Assert.Equal(binary, reply.BinaryOutput("y"));
    }

    [Fact]
    public async Task HandleAsync_EveryTruncationOfAValidRequest_IsA400()
    {
        var body = Encoding.UTF8.GetBytes(ValidJson);
        for (var length = 0; length < body.Length; length++)
        {
            var reply = await _harness.SendAsync("POST", "/v2/models/addfloat/infer", body[..length]);

            Assert.True(reply.Status == 400, $"prefix of {length} bytes: {reply}");
            Assert.False(string.IsNullOrWhiteSpace(reply.Error));
        }
    }

    [Fact]
    public async Task HandleAsync_EveryTruncationOfABinaryRequest_IsA400()
    {
        var a = OipClient.Raw(1f, 2f, 3f);
        var b = OipClient.Raw(4f, 5f, 6f);
        var header = Encoding.UTF8.GetBytes(
            """{"inputs":[{"name":"a","datatype":"FP32","shape":[1,3],"parameters":{"binary_data_size":12}},{"name":"b","datatype":"FP32","shape":[1,3],"parameters":{"binary_data_size":12}}]}""");
        byte[] body = [.. header, .. a, .. b];
        var headers = new Dictionary<string, string> { [OipHeaders.InferenceHeaderContentLength] = header.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) };

        (await _harness.SendAsync("POST", "/v2/models/addfloat/infer", body, headers)).AssertOk();
        for (var length = 0; length < body.Length; length++)
        {
            var reply = await _harness.SendAsync("POST", "/v2/models/addfloat/infer", body[..length], headers);

            Assert.True(reply.Status == 400, $"prefix of {length} bytes: {reply}");
        }
    }

    [Fact]
    public async Task HandleAsync_DamagedBytes_NeverGive500()
    {
        var valid = Encoding.UTF8.GetBytes(ValidJson);
        byte[] replacements = [(byte)'{', (byte)'}', (byte)'[', (byte)']', (byte)'"', (byte)',', (byte)':', (byte)'-', (byte)'9', (byte)'e', 0x00, 0xff, 0xc3, (byte)'\\'];
        var random = new Random(20240611);
        for (var i = 0; i < 600; i++)
        {
            var body = (byte[])valid.Clone();
            for (var changes = random.Next(1, 4); changes > 0; changes--)
            {
                body[random.Next(body.Length)] = replacements[random.Next(replacements.Length)];
            }

            var reply = await _harness.SendAsync("POST", "/v2/models/addfloat/infer", body);

            Assert.True(reply.Status is 200 or 400, $"{Encoding.UTF8.GetString(body)}: {reply}");
        }
    }
}

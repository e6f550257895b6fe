using Serverless.Inference.Tests.Support;

namespace Serverless.Inference.Tests.Protocol;

/// <summary>
/// Model and version names from the URL: anything outside the name rule is a 400 before it reaches the
/// store, over HTTP exactly as sent on the wire (past client-side URI normalization) and straight into the
/// handler as other transports pass paths.
/// </summary>
public sealed class ModelNameRoutingTests(OipServerFixture fixture) : IClassFixture<OipServerFixture>
{
    private static readonly string Long65 = new('m', 65);
    private static readonly string Long64 = new('m', 64);

    private readonly OipClient _client = fixture.Client;

    /// <summary>Request targets as sent on the wire, and the model name the 400 must quote (as the server decodes it).</summary>
    public static TheoryData<string, string> InvalidNamesOnTheWire => new()
    {
        { "/v2/models/a..b/ready", "invalid model name 'a..b'" },
        { "/v2/models/iris..", "invalid model name 'iris..'" },
        { "/v2/models/a%2Fb/ready", "invalid model name 'a%2Fb'" },
        { "/v2/models/a%2fb/infer", "invalid model name 'a%2fb'" },
        { "/v2/models/..%2F..%2Fetc/ready", "invalid model name '..%2F..%2Fetc'" },
        { "/v2/models/a%20b/ready", "invalid model name 'a b'" },
        { "/v2/models/a%5Cb/ready", "invalid model name 'a\\b'" },
        { "/v2/models/.hidden/ready", "invalid model name '.hidden'" },
        { "/v2/models/.hidden", "invalid model name '.hidden'" },
        { "/v2/models/-dash/ready", "invalid model name '-dash'" },
        { "/v2/models/_under/ready", "invalid model name '_under'" },
        { "/v2/models/caf%C3%A9/ready", "invalid model name 'café'" },
        { $"/v2/models/{Long65}/ready", $"invalid model name '{Long65}'" },
        { "/v2/models/iris/versions/..%2F1/ready", "invalid model version '..%2F1'" },
        { "/v2/models/iris/versions/.1", "invalid model version '.1'" },
        { "/v2/models/iris/versions/1..2/infer", "invalid model version '1..2'" },
        { $"/v2/models/iris/versions/{Long65}/ready", "invalid model version" },
    };

    [Theory]
    [MemberData(nameof(InvalidNamesOnTheWire))]
    public async Task Get_InvalidNameOnTheWire_Returns400(string target, string message)
    {
        var reply = await _client.SendRawAsync("GET", target);

        reply.AssertError(400, message, "it must match [A-Za-z0-9][A-Za-z0-9._-]{0,63} and not contain '..'");
    }

    [Theory]
    [InlineData("/v2/models/a..b/infer")]
    [InlineData("/v2/models/a%2Fb/infer")]
    [InlineData("/v2/models/.x/versions/1/infer")]
    public async Task Post_InvalidName_Returns400(string target)
    {
        var reply = await _client.SendRawAsync("POST", target);

        reply.AssertError(400, "invalid model name");
    }

    [Theory]
    [InlineData("/v2/models/%2e%2e/ready")]
    [InlineData("/v2/models/%2E%2E/ready")]
    [InlineData("/v2/models/%2e%2e/%2e%2e/%2e%2e/etc/ready")]
    [InlineData("/v2/models/iris/versions/%2e%2e/%2e%2e/%2e%2e/ready")]
    [InlineData("/v2/models/../ready")]
    [InlineData("/v2/models/../../../etc/passwd")]
    [InlineData("/v2/models/x/../../../../models/iris/1/model.onnx")]
    [InlineData("/v2/models/iris/../../models/iris/1/model.onnx")]
    [InlineData("/v2/models/iris/versions/../../../ready")]
    [InlineData("/v2/models/iris/versions/1/../../../../../../etc/ready")]
    public async Task Get_DotSegments_NeverReachAModel(string target)
    {
        var reply = await _client.SendRawAsync("GET", target);

        Assert.True(reply.Status is 400 or 404, $"{target}: {reply}");
        Assert.DoesNotContain("\"ready\":true", reply.JsonText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_EscapedDotSegments_AreResolvedBeforeRouting()
    {
        // Kestrel decodes %2e and removes dot segments first; the handler only ever sees the resolved path.
        var reply = await _client.SendRawAsync("GET", "/v2/models/%2e%2e/ready");

        reply.AssertError(404, "no such route: GET /v2/ready");
    }

    [Fact]
    public async Task Get_LongestValidName_IsLookedUpNotRefused()
    {
        var reply = await _client.SendRawAsync("GET", $"/v2/models/{Long64}/ready");

        reply.AssertError(404, $"unknown model '{Long64}'");
    }

    [Fact]
    public async Task Get_ValidNameWithDotsDashesUnderscores_IsLookedUpNotRefused()
    {
        var reply = await _client.SendRawAsync("GET", "/v2/models/a.b_c-d/ready");

        reply.AssertError(404, "unknown model 'a.b_c-d'");
    }

    [Fact]
    public async Task Get_EscapedValidName_ReachesTheModel()
    {
        var reply = await _client.SendRawAsync("GET", "/v2/models/%69ris/ready");

        reply.AssertOk();
        Assert.Equal("iris", reply.Json.GetProperty("name").GetString());
    }

    [Fact]
    public async Task HttpClient_EscapedSlashInName_Returns400()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_client.BaseAddress, "/v2/models/a%2Fb/ready"));

        var reply = await _client.SendAsync(request);

        reply.AssertError(400, "invalid model name");
    }

    /// <summary>Paths as a transport without normalization (API Gateway, Functions) may hand them to the handler.</summary>
    [Theory]
    [InlineData("/v2/models/../ready", "invalid model name '..'")]
    [InlineData("/v2/models/..", "invalid model name '..'")]
    [InlineData("/v2/models/../../etc/passwd", "invalid model name '..'")]
    [InlineData("/v2/models/../../../../../../etc/passwd/infer", "invalid model name '..'")]
    [InlineData("/v2/models/%2e%2e/ready", "invalid model name '%2e%2e'")]
    [InlineData("/v2/models/%2e%2e%2f%2e%2e%2fetc/ready", "invalid model name '%2e%2e%2f%2e%2e%2fetc'")]
    [InlineData("/v2/models/a b/ready", "invalid model name 'a b'")]
    [InlineData("/v2/models/a\\..\\b/ready", "invalid model name 'a\\..\\b'")]
    [InlineData("/v2/models/.git/ready", "invalid model name '.git'")]
    [InlineData("/v2/models/a\u0000b/ready", "invalid model name 'a?b'")]
    [InlineData("/v2/models/iris/versions/../ready", "invalid model version '..'")]
    public async Task Handler_UnnormalizedPath_Returns400(string path, string message)
    {
        using var harness = new OipHandlerHarness(fixture.Repository);

        var reply = await harness.GetAsync(path);

        reply.AssertError(400, message);
    }

    [Fact]
    public async Task Handler_SixtyFiveCharacterName_Returns400()
    {
        using var harness = new OipHandlerHarness(fixture.Repository);

        var reply = await harness.GetAsync($"/v2/models/{Long65}");

        reply.AssertError(400, "invalid model name");
    }

    [Fact]
    public async Task Handler_LongUntrustedName_IsShortenedInTheError()
    {
        using var harness = new OipHandlerHarness(fixture.Repository);
        var name = new string('x', 5000);

        var reply = await harness.GetAsync($"/v2/models/{name}/ready");

        reply.AssertError(400, "invalid model name");
        Assert.True(reply.Error.Length < 400, reply.Error);
    }
}

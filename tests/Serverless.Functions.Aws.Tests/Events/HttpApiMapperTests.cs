using Serverless.Functions.Aws.Events;
using Serverless.Inference.Protocol;

namespace Serverless.Functions.Aws.Tests.Events;

public sealed class HttpApiMapperTests
{
    [Theory]
    [InlineData("/prod/v2/models/iris", "prod", "/v2/models/iris")]
    [InlineData("/prod", "prod", "/")]
    [InlineData("/v2/models/iris", "$default", "/v2/models/iris")]
    [InlineData("/v2/models/iris", null, "/v2/models/iris")]
    [InlineData("/production/v2", "prod", "/production/v2")]
    [InlineData("/v2/prod/x", "prod", "/v2/prod/x")]
    public void StripStage_RawPath_RemovesOnlyALeadingStageSegment(string rawPath, string? stage, string expected) =>
        Assert.Equal(expected, HttpApiMapper.StripStage(rawPath, stage));

    [Fact]
    public async Task TryMap_Base64Body_DecodesBytesAndLooksUpHeadersIgnoringCase()
    {
        byte[] sent = [0, 1, 2, 250, 251, 255];
        var request = new HttpApiRequest("2.0", "/stage/v2/models/m/infer", "", new() { ["inference-header-content-length"] = "2" }, ["a=1", "b=2"],
            Convert.ToBase64String(sent), true, new HttpApiRequestContext("stage", "r", new HttpApiHttp("post", "/stage/v2/models/m/infer")));

        var mapped = HttpApiMapper.TryMap(request, out var problem);

        Assert.Null(problem);
        Assert.NotNull(mapped);
        Assert.Equal(("POST", "/v2/models/m/infer", 6L), (mapped.Method, mapped.Path, mapped.ContentLength));
        Assert.Equal("2", mapped.GetHeader(OipHeaders.InferenceHeaderContentLength));
        Assert.Equal("a=1; b=2", mapped.GetHeader("Cookie"));
        Assert.Null(mapped.GetHeader("x-missing"));
        using var body = new MemoryStream();
        await mapped.Body.CopyToAsync(body);
        Assert.Equal(sent, body.ToArray());
    }

    [Theory]
    [InlineData(null, "/v2", "the event has no requestContext.http.method")]
    [InlineData("GET", null, "the event has no rawPath")]
    [InlineData("GET", "v2", "the event's rawPath does not start with '/'")]
    public void TryMap_MissingFields_NamesTheField(string? method, string? rawPath, string expected)
    {
        var request = new HttpApiRequest("2.0", rawPath, null, null, null, null, false, new HttpApiRequestContext("$default", "r", new HttpApiHttp(method, rawPath)));

        Assert.Null(HttpApiMapper.TryMap(request, out var problem));
        Assert.Equal(expected, problem);
    }

    [Fact]
    public void WriteResponse_OverSixMegabytes_Refuses413WithJsonError()
    {
        using var huge = OpenInferenceHandler.Error(200, new string('x', HttpApiMapper.MaxResponseBytes));

        using var document = JsonDocument.Parse(HttpApiMapper.WriteResponse(huge));

        var root = document.RootElement;
        Assert.Equal(413, root.GetProperty("statusCode").GetInt32());
        using var body = JsonDocument.Parse(root.GetProperty("body").GetString()!);
        Assert.StartsWith("the response would be 6291", body.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Contains("over Lambda's limit of 6291456 bytes", body.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void WriteResponse_JustUnderTheLimit_IsSentAsIs()
    {
        using var large = OpenInferenceHandler.Error(200, new string('x', HttpApiMapper.MaxResponseBytes - 1000));

        var written = HttpApiMapper.WriteResponse(large);

        Assert.InRange(written.Length, HttpApiMapper.MaxResponseBytes - 1000, HttpApiMapper.MaxResponseBytes);
        using var document = JsonDocument.Parse(written);
        Assert.Equal(200, document.RootElement.GetProperty("statusCode").GetInt32());
    }
}

using System.Text.Json;
using Serverless.Inference.Protocol;
using Serverless.Inference.Tests.Support;

namespace Serverless.Inference.Tests.Protocol;

/// <summary>The metadata, health and readiness routes, over HTTP to the real local host.</summary>
public sealed class OpenInferenceRoutesTests(OipServerFixture fixture) : IClassFixture<OipServerFixture>
{
    private readonly OipClient _client = fixture.Client;

    [Fact]
    public async Task ServerMetadata_Get_ReturnsNameVersionAndBinaryExtension()
    {
        var reply = (await _client.GetAsync("/v2")).AssertOk();

        Assert.Equal(OipHeaders.Json, reply.ContentType);
        Assert.Equal(OpenInferenceHandler.ServerName, reply.Json.GetProperty("name").GetString());
        Assert.False(string.IsNullOrWhiteSpace(reply.Json.GetProperty("version").GetString()));
        var extensions = reply.Json.GetProperty("extensions").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Contains("binary_tensor_data", extensions);
    }

    [Fact]
    public async Task Live_Get_ReturnsLiveTrue()
    {
        var reply = (await _client.GetAsync("/v2/health/live")).AssertOk();

        Assert.True(reply.Json.GetProperty("live").GetBoolean());
    }

    [Fact]
    public async Task Ready_RepositoryWithModels_ReturnsReadyTrue()
    {
        var reply = (await _client.GetAsync("/v2/health/ready")).AssertOk();

        Assert.True(reply.Json.GetProperty("ready").GetBoolean());
    }

    [Fact]
    public async Task Ready_EmptyRepository_Returns503WithReason()
    {
        using var empty = new TempModelRepository();
        await using var server = await OipTestServer.StartAsync(empty.Root);

        var reply = await server.Client.GetAsync("/v2/health/ready");

        reply.AssertError(503, "the model repository holds no models (error id ");
        Assert.DoesNotContain(empty.Root, reply.JsonText, StringComparison.Ordinal);
        Assert.False(reply.Json.GetProperty("ready").GetBoolean());
    }

    [Fact]
    public async Task Ready_RepositoryFolderMissing_Returns503WithReason()
    {
        var missing = Path.Combine(Path.GetTempPath(), "oip-missing-" + Guid.NewGuid().ToString("N"));
        await using var server = await OipTestServer.StartAsync(missing);

        var reply = await server.Client.GetAsync("/v2/health/ready");

        reply.AssertError(503, "does not exist");
        Assert.False(reply.Json.GetProperty("ready").GetBoolean());
    }

    [Theory]
    [InlineData("/v2/models/addfloat")]
    [InlineData("/v2/models/addfloat/versions/1")]
    public async Task ModelMetadata_AddFloat_DescribesInputsAndOutputs(string path)
    {
        var reply = (await _client.GetAsync(path)).AssertOk();

        Assert.Equal("addfloat", reply.Json.GetProperty("name").GetString());
        Assert.Equal(["1"], reply.Json.GetProperty("versions").EnumerateArray().Select(v => v.GetString()));
        Assert.Equal("onnxruntime_onnx", reply.Json.GetProperty("platform").GetString());
        Assert.Equal(["a FP32 [-1,3]", "b FP32 [-1,3]"], Describe(reply.Json.GetProperty("inputs")));
        Assert.Equal(["sum FP32 [-1,3]", "product FP32 [-1,3]"], Describe(reply.Json.GetProperty("outputs")));
        var parameters = reply.Json.GetProperty("parameters");
        Assert.Equal("1", parameters.GetProperty("version").GetString());
        Assert.StartsWith("sha256:", parameters.GetProperty("identity").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ModelMetadata_Iris_UsesManifestAndDynamicBatch()
    {
        var reply = (await _client.GetAsync("/v2/models/iris")).AssertOk();

        Assert.Equal(["Features FP32 [-1,4]"], Describe(reply.Json.GetProperty("inputs")));
        Assert.Equal(["Score.output FP32 [-1,3]", "PredictedLabel.output BYTES [-1,1]"], Describe(reply.Json.GetProperty("outputs")));
        var parameters = reply.Json.GetProperty("parameters");
        Assert.Equal(1024, parameters.GetProperty("max_batch_size").GetInt32());
        Assert.Contains("Iris", parameters.GetProperty("description").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ModelMetadata_FixedModel_ReportsFixedDimensions()
    {
        var reply = (await _client.GetAsync("/v2/models/fixed")).AssertOk();

        Assert.Equal(["x FP32 [1,3]"], Describe(reply.Json.GetProperty("inputs")));
    }

    [Theory]
    [InlineData("/v2/models/identity-bytes", "x BYTES [-1]")]
    [InlineData("/v2/models/identity-fp16", "x FP16 [-1]")]
    [InlineData("/v2/models/identity-uint64", "x UINT64 [-1]")]
    [InlineData("/v2/models/identity-bool", "x BOOL [-1]")]
    public async Task ModelMetadata_IdentityModels_ReportOipDatatypes(string path, string expectedInput)
    {
        var reply = (await _client.GetAsync(path)).AssertOk();

        Assert.Equal([expectedInput], Describe(reply.Json.GetProperty("inputs")));
    }

    [Theory]
    [InlineData("/v2/models/addfloat/ready")]
    [InlineData("/v2/models/addfloat/versions/1/ready")]
    public async Task ModelReady_LoadableModel_Returns200(string path)
    {
        var reply = (await _client.GetAsync(path)).AssertOk();

        Assert.Equal("addfloat", reply.Json.GetProperty("name").GetString());
        Assert.Equal("1", reply.Json.GetProperty("version").GetString());
        Assert.True(reply.Json.GetProperty("ready").GetBoolean());
    }

    [Theory]
    [InlineData("/v2/models/nope/ready")]
    [InlineData("/v2/models/nope")]
    [InlineData("/v2/models/nope/versions/1/ready")]
    public async Task ModelRoutes_UnknownModel_Return404(string path)
    {
        var reply = await _client.GetAsync(path);

        reply.AssertError(404, "unknown model 'nope'");
    }

    [Theory]
    [InlineData("/v2/models/addfloat/versions/7/ready")]
    [InlineData("/v2/models/addfloat/versions/7")]
    public async Task ModelRoutes_UnknownVersion_Return404ListingVersions(string path)
    {
        var reply = await _client.GetAsync(path);

        reply.AssertError(404, "model 'addfloat' has no version '7'", "versions: 1");
    }

    [Fact]
    public async Task ModelReady_GarbageModelFile_Returns503WhileOtherModelsStayReady()
    {
        var broken = await _client.GetAsync("/v2/models/broken/ready");
        var healthy = await _client.GetAsync("/v2/models/identity-fp32/ready");
        var brokenAgain = await _client.GetAsync("/v2/models/broken/versions/1/ready");
        var infer = await _client.InferAsync("identity-fp32", """{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}]}""");

        broken.AssertError(503, "broken");
        Assert.False(broken.Json.GetProperty("ready").GetBoolean());
        Assert.Equal("broken", broken.Json.GetProperty("name").GetString());
        healthy.AssertOk();
        Assert.True(healthy.Json.GetProperty("ready").GetBoolean());
        brokenAgain.AssertError(503, "broken");
        infer.AssertOk();
    }

    [Fact]
    public async Task Infer_GarbageModelFile_Returns503WithLoadError()
    {
        var reply = await _client.InferAsync("broken", """{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}]}""");

        reply.AssertError(503, "model 'broken' version 1");
    }

    [Fact]
    public async Task Ready_WithBrokenModelInRepository_StillReady()
    {
        await _client.GetAsync("/v2/models/broken/ready");

        var reply = (await _client.GetAsync("/v2/health/ready")).AssertOk();

        Assert.True(reply.Json.GetProperty("ready").GetBoolean());
    }

    [Theory]
    [InlineData("/v2/models/addfloat/infer", "POST")]
    public async Task Infer_Get_Returns405AllowingPost(string path, string allowed)
    {
        var reply = await _client.GetAsync(path);

        reply.AssertError(405, "GET is not allowed", "use POST");
        Assert.Equal(allowed, reply.Headers["Allow"]);
    }

    [Theory]
    [InlineData("/v2")]
    [InlineData("/v2/health/live")]
    [InlineData("/v2/health/ready")]
    [InlineData("/v2/models/addfloat")]
    [InlineData("/v2/models/addfloat/ready")]
    [InlineData("/v2/models/addfloat/versions/1")]
    public async Task ReadOnlyRoutes_Post_Return405AllowingGet(string path)
    {
        var reply = await _client.PostAsync(path, OipClient.Json("{}"));

        reply.AssertError(405, "POST is not allowed", "use GET");
        Assert.Equal("GET", reply.Headers["Allow"]);
    }

    [Fact]
    public async Task ReadOnlyRoutes_Delete_Returns405()
    {
        var reply = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Delete, "/v2/models/addfloat"));

        reply.AssertError(405, "DELETE is not allowed");
        Assert.Equal("GET", reply.Headers["Allow"]);
    }

    [Theory]
    [InlineData("/v2/nope")]
    [InlineData("/v2/health")]
    [InlineData("/v2/models")]
    [InlineData("/v2/models/addfloat/versions")]
    [InlineData("/v2/models/addfloat/explain")]
    [InlineData("/v2/models/addfloat/versions/1/infer/more")]
    public async Task UnknownRoute_UnderV2_Returns404Json(string path)
    {
        var reply = await _client.GetAsync(path);

        reply.AssertError(404, "no such route: GET");
    }

    [Fact]
    public async Task UnknownRoute_OutsideV2_Returns404()
    {
        using var response = await _client.Http.GetAsync(new Uri("/v1/models", UriKind.Relative));

        Assert.Equal(404, (int)response.StatusCode);
    }

    private static List<string> Describe(JsonElement tensors) =>
        [.. tensors.EnumerateArray().Select(t =>
            $"{t.GetProperty("name").GetString()} {t.GetProperty("datatype").GetString()} [{string.Join(',', t.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()))}]")];
}

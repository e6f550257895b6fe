using System.Text;
using Serverless.Functions.Azure.Http;
using Serverless.Inference.Hosting;
using Serverless.Inference.Protocol;
using Serverless.Inference.Repository;

namespace Serverless.Functions.Azure.Tests.Http;

/// <summary>The HTTP functions answer exactly as the core does: they only map the ASP.NET Core request.</summary>
public sealed class OpenInferenceFunctionsTests : IDisposable
{
    private readonly string _cache = Directory.CreateTempSubdirectory("azure-http-cache-").FullName;
    private readonly ModelHost _host;
    private readonly OpenInferenceHandler _handler;

    public OpenInferenceFunctionsTests()
    {
        _host = new ModelHost(new LocalFolderModelStore(Path.Combine(AppContext.BaseDirectory, "models")), new ModelHostOptions { CacheDirectory = _cache });
        _handler = new OpenInferenceHandler(_host, new RequestLimits { MaxRequestBytes = 64 * 1024 });
    }

    public void Dispose()
    {
        _host.Dispose();
        Directory.Delete(_cache, recursive: true);
    }

    public static TheoryData<string, string, string?> BadRequests => new()
    {
        { "POST", "/v2/models/iris/infer", "{not json" },
        { "POST", "/v2/models/iris/infer", """{"inputs":[{"name":"Features","datatype":"FP32","shape":[1,4],"data":[1,2,3]}]}""" },
        { "POST", "/v2/models/iris/infer", """{"inputs":[{"name":"Nope","datatype":"FP32","shape":[1,4],"data":[1,2,3,4]}]}""" },
        { "POST", "/v2/models/iris/infer", """{"inputs":[{"name":"Features","datatype":"STRING","shape":[1,4],"data":[1,2,3,4]}]}""" },
        { "POST", "/v2/models/iris/infer", "" },
        { "POST", "/v2/models/iris/infer", "{\"inputs\":[" + new string(' ', 70_000) + "]}" },
        { "POST", "/v2/models/nosuch/infer", """{"inputs":[]}""" },
        { "POST", "/v2/models/..%2Fetc/infer", """{"inputs":[]}""" },
        { "GET", "/v2/models/iris/infer", null },
        { "POST", "/v2/models/iris", "{}" },
        { "GET", "/v2/models/nosuch", null },
        { "GET", "/v2/models/iris/versions/9", null },
        { "GET", "/v2/nothing/here", null },
        { "DELETE", "/v2", null },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task ProtocolAsync_BadRequest_SameStatusAndBodyAsTheCore(string method, string path, string? body)
    {
        var expected = await CoreAsync(method, path, body);
        var functions = new OpenInferenceFunctions(_handler);
        var context = HttpReply.NewContext(method, path, body);

        await functions.ProtocolAsync(context.Request);

        var actual = HttpReply.From(context);
        Assert.InRange(actual.Status, 400, 499);
        Assert.Equal(expected, actual);
        Assert.True(actual.Json.TryGetProperty("error", out _));
    }

    [Fact]
    public async Task ProtocolAsync_IrisInfer_SameResponseAsTheCoreWithLabels()
    {
        var body = Iris.InferBody();
        var expected = await CoreAsync("POST", "/v2/models/iris/infer", body);
        var context = HttpReply.NewContext("POST", "/v2/models/iris/infer", body);

        await new OpenInferenceFunctions(_handler).ProtocolAsync(context.Request);

        var actual = HttpReply.From(context);
        Assert.Equal(200, actual.Status);
        Assert.Equal(expected, actual);
        var labels = actual.Json.GetProperty("outputs").EnumerateArray().Single(o => o.GetProperty("name").GetString() == "PredictedLabel.output");
        Assert.Equal(Iris.Labels, labels.GetProperty("data").EnumerateArray().Select(l => l.GetString()));
    }

    [Fact]
    public async Task ProtocolAsync_StatisticsRoute_CountsTheRowsThisInstanceAnswered()
    {
        var functions = new OpenInferenceFunctions(_handler);
        await functions.ProtocolAsync(HttpReply.NewContext("POST", "/v2/models/iris/infer", Iris.InferBody()).Request);
        var context = HttpReply.NewContext("GET", "/v2/models/iris/stats", null);

        await functions.ProtocolAsync(context.Request);

        var reply = HttpReply.From(context);
        Assert.Equal(200, reply.Status);
        var stats = Assert.Single(reply.Json.GetProperty("model_stats").EnumerateArray());
        Assert.Equal(("iris", Iris.Inputs.Count), (stats.GetProperty("name").GetString(), stats.GetProperty("inference_count").GetInt32()));
        Assert.Equal(1, stats.GetProperty("inference_stats").GetProperty("success").GetProperty("count").GetInt32());
    }

    [Theory]
    [InlineData("/v2")]
    [InlineData("/v2/models/iris")]
    [InlineData("/v2/models/iris/ready")]
    [InlineData("/v2/models/iris/versions/1/ready")]
    public async Task ProtocolAsync_MetadataRoutes_SameResponseAsTheCore(string path)
    {
        var expected = await CoreAsync("GET", path, null);
        var context = HttpReply.NewContext("GET", path, null);

        await new OpenInferenceFunctions(_handler).ProtocolAsync(context.Request);

        Assert.Equal(200, expected.Status);
        Assert.Equal(expected, HttpReply.From(context));
    }

    [Fact]
    public async Task HealthFunctions_LiveAndReady_Answer200()
    {
        var functions = new OpenInferenceFunctions(_handler);
        var live = HttpReply.NewContext("GET", "/v2/health/live", null);
        var ready = HttpReply.NewContext("GET", "/v2/health/ready", null);

        await functions.LiveAsync(live.Request);
        await functions.ReadyAsync(ready.Request);

        Assert.Equal((200, true), (HttpReply.From(live).Status, HttpReply.From(live).Json.GetProperty("live").GetBoolean()));
        Assert.Equal((200, true), (HttpReply.From(ready).Status, HttpReply.From(ready).Json.GetProperty("ready").GetBoolean()));
    }

    private async Task<HttpReply> CoreAsync(string method, string path, string? body)
    {
        var bytes = body is null ? [] : Encoding.UTF8.GetBytes(body);
        var request = new OipHttpRequest(method, path, name => name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase) && body is not null ? "application/json" : null, new MemoryStream(bytes), body is null ? null : bytes.Length);
        using var response = await _handler.HandleAsync(request, CancellationToken.None);
        return new HttpReply(response.StatusCode, response.ContentType, Encoding.UTF8.GetString(response.Body.Span));
    }
}

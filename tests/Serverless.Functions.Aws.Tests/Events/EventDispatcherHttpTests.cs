using Serverless.Functions.Aws.Events;

namespace Serverless.Functions.Aws.Tests.Events;

/// <summary>HTTP API events through the dispatcher and the core, with the iris model from a local repository.</summary>
public sealed class EventDispatcherHttpTests : IClassFixture<LocalFunction>
{
    private readonly LocalFunction _function;

    public EventDispatcherHttpTests(LocalFunction function) => _function = function;

    private static JsonElement Body(JsonElement response) => JsonDocument.Parse(response.GetProperty("body").GetString()!).RootElement;

    [Fact]
    public async Task HandleAsync_InferUnderNamedStage_StripsStageAndScores()
    {
        var response = await _function.InvokeAsync(HttpApiEvents.Create("POST", "/prod/v2/models/iris/infer", TestModels.IrisInferBody, stage: "prod"));

        Assert.Equal(200, response.GetProperty("statusCode").GetInt32());
        Assert.Equal("iris", Body(response).GetProperty("model_name").GetString());
    }

    [Fact]
    public async Task HandleAsync_RepeatedInvocations_ReuseTheProcessWideSession()
    {
        using var function = new LocalFunction();

        for (var i = 0; i < 3; i++)
        {
            var response = await function.InvokeAsync(HttpApiEvents.Infer(TestModels.IrisInferBody));
            Assert.Equal(200, response.GetProperty("statusCode").GetInt32());
        }

        Assert.Equal(1, function.Host.SessionsCreated);
    }

    [Fact]
    public async Task HandleAsync_StatisticsRoute_CountsTheRequestsThisInstanceAnswered()
    {
        using var function = new LocalFunction();
        for (var i = 0; i < 2; i++)
        {
            await function.InvokeAsync(HttpApiEvents.Infer(TestModels.IrisInferBody));
        }

        var response = await function.InvokeAsync(HttpApiEvents.Create("GET", "/v2/models/iris/versions/1/stats", null));

        Assert.Equal(200, response.GetProperty("statusCode").GetInt32());
        var stats = Assert.Single(Body(response).GetProperty("model_stats").EnumerateArray());
        Assert.Equal(("iris", "1"), (stats.GetProperty("name").GetString(), stats.GetProperty("version").GetString()));
        Assert.Equal(2, stats.GetProperty("inference_stats").GetProperty("success").GetProperty("count").GetInt32());
        Assert.Equal(2, stats.GetProperty("execution_count").GetInt32());
    }

    [Fact]
    public async Task HandleAsync_Base64JsonBody_IsDecoded()
    {
        var body = Convert.ToBase64String(Encoding.UTF8.GetBytes(TestModels.IrisInferBody));

        var response = await _function.InvokeAsync(HttpApiEvents.Create("POST", "/v2/models/iris/infer", body, base64: true));

        Assert.Equal(200, response.GetProperty("statusCode").GetInt32());
    }

    [Fact]
    public async Task HandleAsync_BinaryTensorExtension_RoundTripsThroughBase64()
    {
        float[] features = [6.3f, 3.3f, 6f, 2.5f];
        var tensor = new byte[features.Length * sizeof(float)];
        Buffer.BlockCopy(features, 0, tensor, 0, tensor.Length);
        var header = Encoding.UTF8.GetBytes(
            """{"inputs":[{"name":"Features","shape":[1,4],"datatype":"FP32","parameters":{"binary_data_size":16}}],"outputs":[{"name":"Score.output","parameters":{"binary_data":true}}]}""");
        var headers = new Dictionary<string, string>
        {
            ["content-type"] = "application/octet-stream",
            ["Inference-Header-Content-Length"] = header.Length.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };

        var response = await _function.InvokeAsync(HttpApiEvents.Create("POST", "/v2/models/iris/infer", Convert.ToBase64String([.. header, .. tensor]), base64: true, headers: headers));

        Assert.Equal(200, response.GetProperty("statusCode").GetInt32());
        Assert.True(response.GetProperty("isBase64Encoded").GetBoolean());
        Assert.Equal("application/octet-stream", response.GetProperty("headers").GetProperty("content-type").GetString());
        var jsonLength = int.Parse(response.GetProperty("headers").GetProperty("inference-header-content-length").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        var bytes = Convert.FromBase64String(response.GetProperty("body").GetString()!);
        using var json = JsonDocument.Parse(bytes.AsMemory(0, jsonLength));
        var score = json.RootElement.GetProperty("outputs").EnumerateArray().Single(o => o.GetProperty("name").GetString() == "Score.output");
        Assert.Equal(12, score.GetProperty("parameters").GetProperty("binary_data_size").GetInt32());
        var scores = new float[3];
        Buffer.BlockCopy(bytes, jsonLength, scores, 0, 12);
        // expected.json: the third flower is a virginica with probability 0.99054843.
        Assert.Equal(0.99054843f, scores[2], 4);
        Assert.Equal(jsonLength + 12, bytes.Length);
    }

    [Theory]
    [InlineData("""{"version":"2.0","rawPath":"/v2/models","requestContext":{"http":{}}}""", "the event has no requestContext.http.method")]
    [InlineData("""{"version":"2.0","requestContext":{"http":{"method":"GET"}}}""", "the event has no rawPath")]
    [InlineData("""{"version":"1.0","rawPath":"/v2","requestContext":{"http":{"method":"GET"}}}""", "payload format version '1.0' is not supported; configure the integration with payload format 2.0")]
    [InlineData("""{"version":"2.0","rawPath":"/v2","headers":["x"],"requestContext":{"http":{"method":"GET"}}}""", "the API Gateway event has a field of the wrong type: $.headers")]
    [InlineData("""{"version":"2.0","rawPath":"/v2/models/iris/infer","body":"not base64!","isBase64Encoded":true,"requestContext":{"http":{"method":"POST"}}}""", "the body is marked isBase64Encoded but is not valid base64")]
    public async Task HandleAsync_BadHttpEvent_Answers400WithJsonError(string eventJson, string expected)
    {
        var response = await _function.InvokeAsync(eventJson);

        Assert.Equal(400, response.GetProperty("statusCode").GetInt32());
        Assert.Equal("application/json", response.GetProperty("headers").GetProperty("content-type").GetString());
        Assert.Equal(expected, Body(response).GetProperty("error").GetString());
    }

    [Theory]
    [InlineData("GET", "/v2/models/nosuch", 404)]
    [InlineData("POST", "/v2/models/iris/infer", 400)]
    [InlineData("DELETE", "/v2/models/iris", 405)]
    [InlineData("GET", "/v2/models/..%2Fx", 400)]
    [InlineData("GET", "/nothing", 404)]
    public async Task HandleAsync_RequestTheCoreRefuses_SameStatusAndJsonError(string method, string path, int status)
    {
        var response = await _function.InvokeAsync(HttpApiEvents.Create(method, path, method == "POST" ? "{\"inputs\":" : null));

        Assert.Equal(status, response.GetProperty("statusCode").GetInt32());
        Assert.False(string.IsNullOrEmpty(Body(response).GetProperty("error").GetString()));
    }

    [Fact]
    public async Task HandleAsync_S3TestEvent_IsIgnored()
    {
        var response = await _function.InvokeAsync("""{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-11-28T00:00:00Z","Bucket":"b"}""");

        Assert.Equal(JsonValueKind.Object, response.ValueKind);
        Assert.Empty(response.EnumerateObject());
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("42")]
    [InlineData("""{"Records":[]}""")]
    [InlineData("""{"Records":[{"eventSource":"aws:dynamodb"}]}""")]
    [InlineData("""{"Records":[{"eventSource":"aws:s3"},{"eventSource":"aws:sqs"}]}""")]
    [InlineData("""{"detail-type":"Object Created","source":"aws.s3"}""")]
    [InlineData("not json")]
    public async Task HandleAsync_UnknownShape_ThrowsUnknownEvent(string eventJson) =>
        await Assert.ThrowsAsync<UnknownEventException>(() => _function.InvokeAsync(eventJson));
}

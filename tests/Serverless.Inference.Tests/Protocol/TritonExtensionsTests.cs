using System.Text;
using System.Text.Json;
using Serverless.Inference.Protocol;
using Serverless.Inference.Tests.Support;

namespace Serverless.Inference.Tests.Protocol;

/// <summary>
/// Triton's model configuration and model repository extensions through the core handler. The request bodies are the
/// ones tritonclient/http/_client.py sends: get_model_config is a GET with no body, get_model_repository_index POSTs an
/// empty body, load_model POSTs <c>{}</c> (or <c>{"parameters":{"config":...}}</c>) and unload_model POSTs
/// <c>{"parameters":{"unload_dependents":false}}</c>.
/// </summary>
public sealed class TritonExtensionsTests : IDisposable
{
    private const string Batched = "doubler";
    private const string Strings = "strings";
    private const string Broken = "broken";

    private readonly TempModelRepository _repository = new TempModelRepository()
        .Add(Batched, OnnxTestModels.Doubler(OnnxElementType.Float), manifest: """
            { "max_batch_size": 8, "dynamic_batching": { "max_queue_delay_microseconds": 500, "preferred_batch_size": [4, 8], "max_queue_size": 16 } }
            """)
        .Add(Strings, OnnxTestModels.Identity(OnnxElementType.String))
        .Add(Broken, [0x4e, 0x6f, 0x74, 0x20, 0x4f, 0x4e, 0x4e, 0x58]);

    private readonly OipHandlerHarness _harness;

    public TritonExtensionsTests()
    {
        _harness = new OipHandlerHarness(_repository.Root);
    }

    public void Dispose()
    {
        _harness.Dispose();
        _repository.Dispose();
    }

    [Fact]
    public async Task ServerMetadata_AdvertisesTritonExtensions()
    {
        var reply = await _harness.GetAsync("/v2");

        reply.AssertOk();
        Assert.Equal(
            ["binary_tensor_data", "model_configuration", "model_repository", "statistics"],
            reply.Json.GetProperty("extensions").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task ModelConfig_BatchedModel_DimsWithoutBatchAndDynamicBatching()
    {
        var reply = await _harness.GetAsync($"/v2/models/{Batched}/config");

        reply.AssertOk();
        var config = reply.Json;
        Assert.Equal(Batched, config.GetProperty("name").GetString());
        Assert.Equal("onnxruntime_onnx", config.GetProperty("platform").GetString());
        Assert.Equal("onnxruntime", config.GetProperty("backend").GetString());
        Assert.Equal(8, config.GetProperty("max_batch_size").GetInt32());
        var input = Assert.Single(config.GetProperty("input").EnumerateArray());
        Assert.Equal("x", input.GetProperty("name").GetString());
        Assert.Equal("TYPE_FP32", input.GetProperty("data_type").GetString());
        Assert.Equal([2L], input.GetProperty("dims").EnumerateArray().Select(d => d.GetInt64()));
        var output = Assert.Single(config.GetProperty("output").EnumerateArray());
        Assert.Equal(("y", "TYPE_FP32"), (output.GetProperty("name").GetString(), output.GetProperty("data_type").GetString()));
        Assert.Equal([2L], output.GetProperty("dims").EnumerateArray().Select(d => d.GetInt64()));
        var batching = config.GetProperty("dynamic_batching");
        Assert.Equal([4, 8], batching.GetProperty("preferred_batch_size").EnumerateArray().Select(d => d.GetInt32()));
        Assert.Equal(500, batching.GetProperty("max_queue_delay_microseconds").GetInt64());
        Assert.Equal(16, batching.GetProperty("default_queue_policy").GetProperty("max_queue_size").GetInt32());
    }

    [Fact]
    public async Task ModelConfig_UnbatchedBytesModel_KeepsEveryDimAndNamesTypeString()
    {
        var reply = await _harness.GetAsync($"/v2/models/{Strings}/versions/1/config");

        reply.AssertOk();
        Assert.Equal(0, reply.Json.GetProperty("max_batch_size").GetInt32());
        Assert.False(reply.Json.TryGetProperty("dynamic_batching", out _));
        var input = Assert.Single(reply.Json.GetProperty("input").EnumerateArray());
        Assert.Equal("TYPE_STRING", input.GetProperty("data_type").GetString());
        Assert.Equal([-1L], input.GetProperty("dims").EnumerateArray().Select(d => d.GetInt64()));
    }

    [Theory]
    [InlineData("/v2/models/nosuch/config", 404)]
    [InlineData("/v2/models/doubler/versions/9/config", 404)]
    [InlineData("/v2/models/..%2Fetc/config", 400)]
    public async Task ModelConfig_UnknownOrInvalid_IsAnError(string path, int status)
    {
        var reply = await _harness.GetAsync(path);

        reply.AssertError(status);
    }

    [Fact]
    public async Task ModelConfig_Post_Returns405()
    {
        var reply = await _harness.SendAsync("POST", $"/v2/models/{Batched}/config", "{}"u8.ToArray());

        reply.AssertError(405);
        Assert.Equal("GET", reply.Headers["Allow"]);
    }

    [Fact]
    public async Task RepositoryIndex_EmptyBody_ListsEveryModelNameOnlyUntilLoaded()
    {
        var reply = await _harness.SendAsync("POST", "/v2/repository/index", []);

        reply.AssertOk();
        var entries = reply.Json.EnumerateArray().ToList();
        Assert.Equal([Broken, Batched, Strings], entries.Select(e => e.GetProperty("name").GetString()).Order(StringComparer.Ordinal));
        Assert.All(entries, e => Assert.Equal(["name"], e.EnumerateObject().Select(p => p.Name)));
    }

    [Fact]
    public async Task RepositoryIndex_AfterUse_ShowsReadyAndUnavailableWithReason()
    {
        (await _harness.GetAsync($"/v2/models/{Batched}/ready")).AssertOk();
        (await _harness.GetAsync($"/v2/models/{Broken}/ready")).AssertError(503);

        var entries = (await _harness.SendAsync("POST", "/v2/repository/index", []))
            .AssertOk().Json.EnumerateArray().ToDictionary(e => e.GetProperty("name").GetString()!);

        Assert.Equal("READY", entries[Batched].GetProperty("state").GetString());
        Assert.Equal("1", entries[Batched].GetProperty("version").GetString());
        Assert.Equal("UNAVAILABLE", entries[Broken].GetProperty("state").GetString());
        Assert.False(string.IsNullOrEmpty(entries[Broken].GetProperty("reason").GetString()));
        Assert.False(entries[Strings].TryGetProperty("state", out _));
    }

    [Fact]
    public async Task RepositoryIndex_ReadyTrue_ListsOnlyReadyModels()
    {
        (await _harness.GetAsync($"/v2/models/{Strings}/ready")).AssertOk();

        var reply = await _harness.SendAsync("POST", "/v2/repository/index", """{"ready": true}"""u8.ToArray());

        reply.AssertOk();
        var entry = Assert.Single(reply.Json.EnumerateArray());
        Assert.Equal((Strings, "READY"), (entry.GetProperty("name").GetString(), entry.GetProperty("state").GetString()));
    }

    [Theory]
    [InlineData("""{"ready": "yes"}""", "expected a boolean")]
    [InlineData("[]", "must be a JSON object")]
    [InlineData("{not json", "not valid JSON")]
    public async Task RepositoryIndex_BadBody_Returns400(string body, string fragment)
    {
        var reply = await _harness.SendAsync("POST", "/v2/repository/index", Encoding.UTF8.GetBytes(body));

        reply.AssertError(400, fragment);
    }

    [Fact]
    public async Task RepositoryIndex_Get_Returns405()
    {
        var reply = await _harness.GetAsync("/v2/repository/index");

        reply.AssertError(405);
        Assert.Equal("POST", reply.Headers["Allow"]);
    }

    [Theory]
    [InlineData("load", "{}")]
    [InlineData("unload", """{"parameters": {"unload_dependents": false}}""")]
    public async Task ModelControl_OffByDefault_Returns403AndLoadsNothing(string action, string body)
    {
        var reply = await _harness.SendAsync("POST", $"/v2/repository/models/{Batched}/{action}", Encoding.UTF8.GetBytes(body));

        reply.AssertError(403, "model control is off");
        Assert.Equal(0, _harness.Host.SessionsCreated);
    }

    [Fact]
    public async Task Load_WithModelControl_LoadsTheDefaultVersion()
    {
        _harness.Limits.ModelControl = true;

        var reply = await _harness.SendAsync("POST", $"/v2/repository/models/{Batched}/load", "{}"u8.ToArray());

        Assert.Equal(200, reply.Status);
        Assert.Equal(1, _harness.Host.SessionsCreated);
        var index = await _harness.SendAsync("POST", "/v2/repository/index", """{"ready":true}"""u8.ToArray());
        Assert.Equal(Batched, Assert.Single(index.Json.EnumerateArray()).GetProperty("name").GetString());
    }

    [Fact]
    public async Task Unload_WithModelControl_ReleasesTheModel()
    {
        _harness.Limits.ModelControl = true;
        (await _harness.SendAsync("POST", $"/v2/repository/models/{Batched}/load", [])).AssertOk();

        var reply = await _harness.SendAsync("POST", $"/v2/repository/models/{Batched}/unload", """{"parameters": {"unload_dependents": false}}"""u8.ToArray());

        reply.AssertOk();
        var index = await _harness.SendAsync("POST", "/v2/repository/index", []);
        var entry = index.Json.EnumerateArray().Single(e => e.GetProperty("name").GetString() == Batched);
        Assert.False(entry.TryGetProperty("state", out _));
    }

    [Theory]
    [InlineData("load")]
    [InlineData("unload")]
    public async Task ModelControl_UnknownModel_Returns404(string action)
    {
        _harness.Limits.ModelControl = true;

        var reply = await _harness.SendAsync("POST", $"/v2/repository/models/nosuch/{action}", "{}"u8.ToArray());

        reply.AssertError(404, "nosuch");
    }

    [Fact]
    public async Task Load_InvalidName_Returns400()
    {
        _harness.Limits.ModelControl = true;

        var reply = await _harness.SendAsync("POST", "/v2/repository/models/..%2Fetc/load", []);

        reply.AssertError(400, "invalid model name");
    }

    [Fact]
    public async Task Load_WithConfigOverride_Returns400()
    {
        _harness.Limits.ModelControl = true;
        // load_model(name, config=...) puts the config JSON text under parameters.config.
        var body = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object> { ["parameters"] = new Dictionary<string, string> { ["config"] = "{\"backend\":\"onnxruntime\"}" } });

        var reply = await _harness.SendAsync("POST", $"/v2/repository/models/{Batched}/load", body);

        reply.AssertError(400, "not supported");
        Assert.Equal(0, _harness.Host.SessionsCreated);
    }

    [Fact]
    public async Task Load_BrokenModel_Returns503()
    {
        _harness.Limits.ModelControl = true;

        var reply = await _harness.SendAsync("POST", $"/v2/repository/models/{Broken}/load", []);

        reply.AssertError(503);
    }
}

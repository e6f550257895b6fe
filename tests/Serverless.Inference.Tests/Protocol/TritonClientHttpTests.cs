using System.Globalization;
using System.Text;
using System.Text.Json;
using Serverless.Inference.Protocol;
using Serverless.Inference.Tests.Support;

namespace Serverless.Inference.Tests.Protocol;

/// <summary>
/// The real local server (<c>infer serve</c>: Kestrel and the ASP.NET Core mapping) answering the requests
/// tritonclient.http sends, byte for byte as tritonclient/http/_client.py and _utils.py build them: Python's
/// <c>json.dumps</c> spacing, no Content-Type, binary tensors after the JSON with Inference-Header-Content-Length.
/// </summary>
public sealed class TritonClientHttpTests : IAsyncLifetime
{
    private const string Model = "identity";

    private readonly TempModelRepository _repository = new TempModelRepository()
        .Add(Model, OnnxTestModels.Identity(OnnxElementType.Float))
        .Add("unused", OnnxTestModels.Identity(OnnxElementType.Int64));

    private OipTestServer _server = null!;

    public async Task InitializeAsync() => _server = await OipTestServer.StartAsync(_repository.Root);

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _repository.Dispose();
    }

    [Fact]
    public async Task GetModelConfig_AsTritonClientSendsIt_AnswersTheModelConfig()
    {
        // get_model_config(model_name): GET v2/models/{quote(name)}/config, no body.
        using var response = await _server.Client.Http.GetAsync(new Uri($"/v2/models/{Model}/config", UriKind.Relative));

        var config = await ReadJsonAsync(response);
        Assert.Equal(Model, config.GetProperty("name").GetString());
        Assert.Equal("TYPE_FP32", config.GetProperty("input")[0].GetProperty("data_type").GetString());
    }

    [Fact]
    public async Task RepositoryControl_AsTritonClientSendsIt_LoadsListsAndUnloads()
    {
        // load_model(name): POST json.dumps({}); get_model_repository_index(): POST with an empty body;
        // unload_model(name): POST json.dumps({"parameters": {"unload_dependents": False}}).
        using (var load = await PostAsync($"/v2/repository/models/{Model}/load", "{}"u8.ToArray(), []))
        {
            Assert.Equal(200, (int)load.StatusCode);
        }

        using (var index = await PostAsync("/v2/repository/index", [], []))
        {
            var entries = (await ReadJsonAsync(index)).EnumerateArray().ToDictionary(e => e.GetProperty("name").GetString()!);
            Assert.Equal("READY", entries[Model].GetProperty("state").GetString());
            Assert.False(entries["unused"].TryGetProperty("state", out _));
        }

        using (var unload = await PostAsync($"/v2/repository/models/{Model}/unload", """{"parameters": {"unload_dependents": false}}"""u8.ToArray(), []))
        {
            Assert.Equal(200, (int)unload.StatusCode);
        }

        using var after = await PostAsync("/v2/repository/index", """{"ready": true}"""u8.ToArray(), []);
        Assert.Empty((await ReadJsonAsync(after)).EnumerateArray());
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("deflate")]
    public async Task Infer_CompressedBothWays_AsTritonClientSendsIt(string coding)
    {
        // infer(..., request_compression_algorithm=coding, response_compression_algorithm=coding) with one binary FP32
        // input and no outputs named, so _get_inference_request adds parameters.binary_data_output.
        var values = Enumerable.Range(0, 400).Select(i => (float)i).ToArray();
        var json = Encoding.UTF8.GetBytes(
            """{"inputs": [{"name": "x", "shape": [400], "datatype": "FP32", "parameters": {"binary_data_size": 1600}}], "parameters": {"binary_data_output": true}}""");
        var body = CompressionTests.Encode([.. json, .. OipClient.Raw(values)], coding);

        using var response = await PostAsync($"/v2/models/{Model}/infer", body, new()
        {
            ["Content-Encoding"] = coding,
            ["Accept-Encoding"] = coding,
            [OipHeaders.InferenceHeaderContentLength] = json.Length.ToString(CultureInfo.InvariantCulture),
        });

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal([coding], response.Content.Headers.ContentEncoding);
        Assert.Contains("Accept-Encoding", response.Headers.Vary);
        // _infer_result.py decompresses first, then reads Inference-Header-Content-Length bytes of JSON from the result.
        var plain = CompressionTests.Decode(await response.Content.ReadAsByteArrayAsync(), coding);
        var headerLength = int.Parse(response.Headers.GetValues(OipHeaders.InferenceHeaderContentLength).Single(), CultureInfo.InvariantCulture);
        var reply = new OipReply(200, null, new Dictionary<string, string> { [OipHeaders.InferenceHeaderContentLength] = headerLength.ToString(CultureInfo.InvariantCulture) }, plain);
        Assert.Equal(OipClient.Raw(values), reply.BinaryOutput("y"));
    }

    [Fact]
    public async Task Infer_UnsupportedEncodingOverHttp_Returns415()
    {
        using var response = await PostAsync($"/v2/models/{Model}/infer", "{}"u8.ToArray(), new() { ["Content-Encoding"] = "br" });

        Assert.Equal(415, (int)response.StatusCode);
        Assert.Contains("not supported", (await ReadJsonAsync(response)).GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    private async Task<HttpResponseMessage> PostAsync(string path, byte[] body, Dictionary<string, string> headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
        foreach (var (name, value) in headers)
        {
            if (!request.Headers.TryAddWithoutValidation(name, value))
            {
                request.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }

        return await _server.Client.Http.SendAsync(request);
    }

    private static async Task<JsonElement> ReadJsonAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.Content.Headers.ContentEncoding.Count == 0, "expected an uncompressed body");
        return JsonDocument.Parse(text).RootElement.Clone();
    }
}

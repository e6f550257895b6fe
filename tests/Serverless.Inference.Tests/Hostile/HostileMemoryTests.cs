using System.Text;
using System.Text.Json;
using Serverless.Inference.Hosting;
using Serverless.Inference.Protocol;
using Serverless.Inference.Repository;
using Serverless.Inference.Tests.Support;

namespace Serverless.Inference.Tests.Hostile;

/// <summary>
/// Requests that claim more than the instance can give: refused with the reason before anything large is allocated
/// (413 when they could never fit, 429 when the memory for running requests is taken), never an out-of-memory crash.
/// </summary>
public sealed class HostileMemoryTests : IAsyncLifetime
{
    private readonly TempModelRepository _repository = new TempModelRepository().CopySample("minilm");
    private OipTestServer _server = null!;

    /// <summary>A small function (512 MB): the plan leaves about 251 MB for running requests, half of what minilm's largest request needs.</summary>
    public async Task InitializeAsync() => _server = await OipTestServer.StartAsync(_repository.Root, memoryMb: 512);

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _repository.Dispose();
    }

    [Fact]
    public async Task Infer_RawSequenceLongerThanThePipelinesMaxLength_413NamingTheLimit()
    {
        var ids = string.Join(',', Enumerable.Repeat("2023", 4 * 512));
        var ones = string.Join(',', Enumerable.Repeat("1", 4 * 512));
        var zeros = string.Join(',', Enumerable.Repeat("0", 4 * 512));
        var body = $$"""
            {"inputs":[
              {"name":"input_ids","datatype":"INT64","shape":[4,512],"data":[{{ids}}]},
              {"name":"attention_mask","datatype":"INT64","shape":[4,512],"data":[{{ones}}]},
              {"name":"token_type_ids","datatype":"INT64","shape":[4,512],"data":[{{zeros}}]}]}
            """;

        var reply = await _server.Client.InferAsync("minilm", body);

        reply.AssertError(413, "input 'input_ids' has shape [4,512]: dimension 1 may be at most 256 for this model (largest shape [-1,256])");
    }

    [Fact]
    public async Task Infer_RawSequenceAtTheLimit_Runs()
    {
        var ids = string.Join(',', Enumerable.Repeat("2023", 256));
        var body = $$"""
            {"inputs":[
              {"name":"input_ids","datatype":"INT64","shape":[1,256],"data":[{{ids}}]},
              {"name":"attention_mask","datatype":"INT64","shape":[1,256],"data":[{{string.Join(',', Enumerable.Repeat("1", 256))}}]},
              {"name":"token_type_ids","datatype":"INT64","shape":[1,256],"data":[{{string.Join(',', Enumerable.Repeat("0", 256))}}]}],
             "outputs":[{"name":"last_hidden_state"}]}
            """;

        var reply = await _server.Client.InferAsync("minilm", body);

        reply.AssertOk();
        Assert.Equal([1L, 256, 384], reply.Shape("last_hidden_state"));
    }

    [Fact]
    public async Task Infer_MaxBatchOfLongTextsOnA512MbInstance_413WithTheEstimateBeforeTokenizing()
    {
        var text = string.Join(' ', Enumerable.Repeat("serverless", 400));
        var body = JsonSerializer.Serialize(new { inputs = new[] { new { name = "text", datatype = "BYTES", shape = new[] { 64 }, data = Enumerable.Repeat(text, 64) } } });

        var reply = await _server.Client.InferAsync("minilm", body);

        var budget = (_server.Host.Memory.RequestBytes + (1 << 20) - 1) >> 20;
        // 1 MB a run and 64 rows at 8 MB (minilm's memory_per_row_mb), texts long enough to reach max_length.
        reply.AssertError(413, "this request needs an estimated 513 MB of working memory;", $" this instance has {budget} MB for running requests");
        Assert.Equal(512L << 20, _server.Host.Memory.Instance.Bytes);
    }

    [Fact]
    public async Task Infer_ManyShortTexts_FitAndRun()
    {
        var body = JsonSerializer.Serialize(new { inputs = new[] { new { name = "text", datatype = "BYTES", shape = new[] { 64 }, data = Enumerable.Repeat("a short sentence", 64) } } });

        var reply = await _server.Client.InferAsync("minilm", body);

        reply.AssertOk();
        Assert.Equal([64L, 384], reply.Shape("embedding"));
    }

    [Fact]
    public async Task Infer_MemoryForRequestsTaken_429WithRetryAfterAndTheServerStillAnswers()
    {
        using var repository = new TempModelRepository().Add("doubler", OnnxTestModels.Doubler(OnnxElementType.Float), manifest: """{"max_batch_size": 8}""");
        using var host = new ModelHost(new LocalFolderModelStore(repository.Root), new ModelHostOptions
        {
            DefaultIntraOpThreads = 1,
            RequestMemoryBytes = 4L << 20,
            MaxWaitingRequests = 0,
        });
        var handler = new OpenInferenceHandler(host, new RequestLimits());
        const string Request = """{"inputs":[{"name":"x","datatype":"FP32","shape":[1,2],"data":[1,2]}]}""";
        (await SendAsync(handler, Request)).AssertOk();

        using (await host.Gate.EnterAsync(host.Gate.CapacityBytes, MemoryWait.Online, CancellationToken.None))
        {
            var busy = await SendAsync(handler, Request);

            busy.AssertError(429, "the server is busy");
            Assert.Equal("1", busy.Headers["Retry-After"]);
        }

        (await SendAsync(handler, Request)).AssertOk();
    }

    private static async Task<OipReply> SendAsync(OpenInferenceHandler handler, string json)
    {
        var body = Encoding.UTF8.GetBytes(json);
        using var stream = new MemoryStream(body, writable: false);
        using var response = await handler.HandleAsync(new OipHttpRequest("POST", "/v2/models/doubler/infer", _ => null, stream, body.Length), CancellationToken.None);
        return new OipReply(response.StatusCode, response.ContentType, response.Headers.ToDictionary(h => h.Key, h => h.Value, StringComparer.OrdinalIgnoreCase), response.Body.ToArray());
    }
}

using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Serverless.Inference.Pipelines.Steps;
using Serverless.Inference.Tests.Support;
using static Serverless.Inference.Tests.Pipelines.Text.MiniLmFixture;

namespace Serverless.Inference.Tests.Pipelines.Text;

/// <summary>The sample MiniLM model over HTTP with the real local host: metadata, texts in, and what callers get wrong.</summary>
[Collection(MiniLmCollection.Name)]
public sealed class MiniLmHttpTests(MiniLmFixture fixture)
{
    private readonly OipClient _client = fixture.Client;

    [Fact]
    public async Task Metadata_ShowsThePipelineTensorsAndTheModelsOwn()
    {
        var reply = await _client.GetAsync("/v2/models/minilm");

        reply.AssertOk();
        Assert.Equal(["text BYTES [-1]"], Tensors(reply.Json, "inputs"));
        Assert.Equal(["embedding FP32 [-1,384]"], Tensors(reply.Json, "outputs"));
        Assert.Equal(["input_ids INT64 [-1,-1]", "attention_mask INT64 [-1,-1]", "token_type_ids INT64 [-1,-1]"], Tensors(reply.Json, "raw_inputs"));
        Assert.Equal(["last_hidden_state FP32 [-1,-1,384]", "924 FP32 [-1,384]"], Tensors(reply.Json, "raw_outputs"));
        var parameters = reply.Json.GetProperty("parameters");
        Assert.Equal(64, parameters.GetProperty("max_batch_size").GetInt32());
        Assert.Contains("all-MiniLM-L6-v2", parameters.GetProperty("description").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Infer_Texts_UnitLengthEmbeddingsAsTheEndpointGives()
    {
        var reply = await _client.InferAsync(Model, Texts("eating food", "a movie"));

        reply.AssertOk();
        Assert.Equal(["embedding"], reply.OutputNames);
        Assert.Equal("FP32", reply.Output("embedding").GetProperty("datatype").GetString());
        Assert.Equal([2L, Dimensions], reply.Shape("embedding"));
        var vectors = Vectors([.. reply.Data("embedding").Select(v => v.GetSingle())], 2);
        Assert.All(vectors, vector => Assert.InRange(Norm(vector), 1 - 1e-5, 1 + 1e-5));
        var direct = await fixture.EmbedAsync("eating food", "a movie");
        AssertClose(direct[0], vectors[0]);
        AssertClose(direct[1], vectors[1]);
        Assert.False(reply.Json.TryGetProperty("parameters", out _), reply.JsonText);
    }

    [Fact]
    public async Task Infer_BinaryTextsAndBinaryOutput_SameEmbeddings()
    {
        var texts = OipClient.LengthPrefixed("eating food", "café");
        var header = $$$"""{"inputs":[{"name":"text","datatype":"BYTES","shape":[2],"parameters":{"binary_data_size":{{{texts.Length}}}}}],"parameters":{"binary_data_output":true}}""";

        var reply = await _client.InferBinaryAsync(Model, header, texts);

        reply.AssertOk();
        var vectors = Vectors(MemoryMarshal.Cast<byte, float>(reply.BinaryOutput("embedding")), 2);
        var direct = await fixture.EmbedAsync("eating food", "café");
        AssertClose(direct[0], vectors[0]);
        AssertClose(direct[1], vectors[1]);
    }

    [Fact]
    public async Task Infer_TextOverMaxLength_ParametersCountTheCutTexts()
    {
        var longText = string.Join(' ', Enumerable.Repeat("example", 400));

        var reply = await _client.InferAsync(Model, Texts("short", longText));

        reply.AssertOk();
        Assert.Equal([2L, Dimensions], reply.Shape("embedding"));
        Assert.Equal(1, reply.Json.GetProperty("parameters").GetProperty(BertTokenizeStep.TruncatedParameter).GetInt32());
    }

    [Fact]
    public async Task Infer_EmptyText_400NamingTheElement()
    {
        var reply = await _client.InferAsync(Model, Texts("eating food", " "));

        reply.AssertError(400, "input 'text' element 1 is empty: there is no text to encode");
    }

    [Fact]
    public async Task Infer_NoTexts_EmptyEmbedding()
    {
        var reply = await _client.InferAsync(Model, """{"inputs":[{"name":"text","datatype":"BYTES","shape":[0],"data":[]}]}""");

        reply.AssertOk();
        Assert.Equal([0L, Dimensions], reply.Shape("embedding"));
    }

    [Fact]
    public async Task Infer_InvalidUtf8InBinaryText_400NamingTheElement()
    {
        var texts = OipClient.LengthPrefixed("fine"u8.ToArray(), [0x63, 0x61, 0x66, 0xE9]);
        var header = $$$"""{"inputs":[{"name":"text","datatype":"BYTES","shape":[2],"parameters":{"binary_data_size":{{{texts.Length}}}}}]}""";

        var reply = await _client.InferBinaryAsync(Model, header, texts);

        // "caf" + 0xE9: é in Latin-1, not UTF-8.
        reply.AssertError(400, "input 'text' element 1 is not valid UTF-8 text");
    }

    [Fact]
    public async Task Infer_LoneSurrogateEscapeInJsonText_400()
    {
        var reply = await _client.InferAsync(Model, """{"inputs":[{"name":"text","datatype":"BYTES","shape":[2],"data":["fine","caf\udce9"]}]}""");

        reply.AssertError(400, "input 'text' element 1 is not valid text");
    }

    [Theory]
    [InlineData("""{"name":"text","datatype":"BYTES","shape":[1],"data":[42]}""", "input 'text' is BYTES but element 0 is a number")]
    [InlineData("""{"name":"text","datatype":"FP32","shape":[1],"data":[42]}""", "input 'text' has datatype FP32 but the model expects BYTES")]
    [InlineData("""{"name":"text","datatype":"BYTES","shape":[1,2],"data":["a","b"]}""", "input 'text' has shape [1,2] but the model expects rank 1")]
    [InlineData("""{"name":"texts","datatype":"BYTES","shape":[1],"data":["a"]}""", "unknown input 'texts'")]
    public async Task Infer_NotText_400(string input, string error)
    {
        var reply = await _client.InferAsync(Model, $$"""{"inputs":[{{input}}]}""");

        reply.AssertError(400, error);
    }

    [Fact]
    public async Task Infer_MoreTextsThanMaxBatchSize_400()
    {
        var reply = await _client.InferAsync(Model, Texts([.. Enumerable.Repeat("hello", 65)]));

        reply.AssertError(400, "input 'text' holds a batch of 65 but this model takes at most 64");
    }

    [Fact]
    public async Task Infer_RawTensors_SkipThePipeline()
    {
        const string Ids = "[101, 2023, 2003, 2019, 2742, 6251, 102]";
        var reply = await _client.InferAsync(Model, $$"""
            {"inputs":[
              {"name":"input_ids","datatype":"INT64","shape":[1,7],"data":{{Ids}}},
              {"name":"attention_mask","datatype":"INT64","shape":[1,7],"data":[1,1,1,1,1,1,1]},
              {"name":"token_type_ids","datatype":"INT64","shape":[1,7],"data":[0,0,0,0,0,0,0]}],
             "outputs":[{"name":"last_hidden_state"}]}
            """);

        reply.AssertOk();
        Assert.Equal(["last_hidden_state"], reply.OutputNames);
        Assert.Equal([1L, 7, Dimensions], reply.Shape("last_hidden_state"));
    }

    private static string Texts(params string[] texts) =>
        $$"""{"inputs":[{"name":"text","datatype":"BYTES","shape":[{{texts.Length}}],"data":{{JsonSerializer.Serialize(texts)}}}]}""";

    private static List<string> Tensors(JsonElement metadata, string property) =>
        [.. metadata.GetProperty(property).EnumerateArray().Select(t =>
            $"{t.GetProperty("name").GetString()} {t.GetProperty("datatype").GetString()} [{string.Join(',', t.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()))}]")];
}

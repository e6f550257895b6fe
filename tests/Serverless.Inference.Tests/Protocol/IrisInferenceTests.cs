using System.Text.Json;
using Serverless.Inference.Tests.Support;

namespace Serverless.Inference.Tests.Protocol;

/// <summary>The sample iris classifier over HTTP: expected outputs, and the request fields that shape the answer.</summary>
public sealed class IrisInferenceTests(OipServerFixture fixture) : IClassFixture<OipServerFixture>
{
    private const string Scores = "Score.output";
    private const string Labels = "PredictedLabel.output";
    private const double Tolerance = 1e-6;

    private static readonly JsonSerializerOptions WebJson = new(JsonSerializerDefaults.Web);

    private static readonly Expected Rows = JsonSerializer.Deserialize<Expected>(
        File.ReadAllText(Path.Combine(TempModelRepository.SampleModels, "iris", "expected.json")), WebJson)!;

    private readonly OipClient _client = fixture.Client;

    [Fact]
    public async Task Infer_ExpectedRows_GiveExpectedLabelsAndScores()
    {
        var reply = await _client.InferAsync(ProtocolModels.Iris, Request(Json(Rows.Inputs), Rows.Inputs.Length));

        reply.AssertOk();
        Assert.Equal("iris", reply.Json.GetProperty("model_name").GetString());
        Assert.Equal("1", reply.Json.GetProperty("model_version").GetString());
        Assert.Equal([Scores, Labels], reply.OutputNames);
        Assert.Equal([3L, 3L], reply.Shape(Scores));
        Assert.Equal("FP32", reply.Output(Scores).GetProperty("datatype").GetString());
        Assert.Equal([3L, 1L], reply.Shape(Labels));
        Assert.Equal("BYTES", reply.Output(Labels).GetProperty("datatype").GetString());
        Assert.Equal(Rows.Labels, reply.Data(Labels).Select(l => l.GetString()));
        AssertScores(Rows.Scores.SelectMany(row => row), reply.Data(Scores).Select(s => s.GetDouble()));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Infer_OneRow_GivesThatRowsLabelAndScores(int row)
    {
        var reply = await _client.InferAsync(ProtocolModels.Iris, Request(Json(Rows.Inputs[row]), 1));

        reply.AssertOk();
        Assert.Equal(Rows.Labels[row], Assert.Single(reply.Data(Labels)).GetString());
        AssertScores(Rows.Scores[row], reply.Data(Scores).Select(s => s.GetDouble()));
    }

    [Fact]
    public async Task Infer_BinaryBothWays_GivesExpectedLabelsAndScores()
    {
        var features = OipClient.Raw([.. Rows.Inputs.SelectMany(row => row)]);
        var header = $$$"""{"inputs":[{"name":"Features","datatype":"FP32","shape":[3,4],"parameters":{"binary_data_size":{{{features.Length}}}}}],"parameters":{"binary_data_output":true}}""";

        var reply = await _client.InferBinaryAsync(ProtocolModels.Iris, header, features);

        reply.AssertOk();
        var scores = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(reply.BinaryOutput(Scores)).ToArray();
        AssertScores(Rows.Scores.SelectMany(row => row), scores.Select(s => (double)s));
        Assert.Equal(OipClient.LengthPrefixed(Rows.Labels), reply.BinaryOutput(Labels));
    }

    [Fact]
    public async Task Infer_WithId_EchoesId()
    {
        var reply = await _client.InferAsync(ProtocolModels.Iris, Request(Json(Rows.Inputs[0]), 1, """ "id":"req-42 \u2713 \"quoted\"", """));

        reply.AssertOk();
        Assert.Equal("req-42 ✓ \"quoted\"", reply.Json.GetProperty("id").GetString());
    }

    [Fact]
    public async Task Infer_WithoutId_AnswersWithoutId()
    {
        var reply = await _client.InferAsync(ProtocolModels.Iris, Request(Json(Rows.Inputs[0]), 1));

        reply.AssertOk();
        Assert.False(reply.Json.TryGetProperty("id", out _));
    }

    [Fact]
    public async Task Infer_WithParameters_EchoesThemUnchanged()
    {
        const string Parameters = """{"trace":"abc \"q\" \u00e9\n","priority":3,"ratio":-2.5e-3,"debug":true,"dry":false,"big":12345678901234567890}""";

        var reply = await _client.InferAsync(ProtocolModels.Iris, Request(Json(Rows.Inputs[0]), 1, $""" "parameters":{Parameters}, """));

        reply.AssertOk();
        var echoed = reply.Json.GetProperty("parameters");
        Assert.True(JsonElement.DeepEquals(JsonDocument.Parse(Parameters).RootElement, echoed), echoed.GetRawText());
        Assert.Equal("abc \"q\" é\n", echoed.GetProperty("trace").GetString());
        Assert.Equal(3, echoed.GetProperty("priority").GetInt32());
        Assert.True(echoed.GetProperty("debug").GetBoolean());
        Assert.Equal(JsonValueKind.False, echoed.GetProperty("dry").ValueKind);
    }

    [Fact]
    public async Task Infer_NestedAndFlatData_GiveTheSameAnswer()
    {
        var nested = await _client.InferAsync(ProtocolModels.Iris, Request(Json(Rows.Inputs), 3));
        var flat = await _client.InferAsync(ProtocolModels.Iris, Request(Json(Rows.Inputs.SelectMany(row => row)), 3));

        nested.AssertOk();
        flat.AssertOk();
        Assert.Equal(nested.JsonText, flat.JsonText);
        Assert.Equal(Rows.Labels, flat.Data(Labels).Select(l => l.GetString()));
    }

    [Fact]
    public async Task Infer_DataBeforeShapeAndDatatype_IsRead()
    {
        var json = $$$"""{"inputs":[{"data":{{{Json(Rows.Inputs)}}},"name":"Features","shape":[3,4],"datatype":"FP32"}]}""";

        var reply = await _client.InferAsync(ProtocolModels.Iris, json);

        reply.AssertOk();
        Assert.Equal(Rows.Labels, reply.Data(Labels).Select(l => l.GetString()));
        AssertScores(Rows.Scores.SelectMany(row => row), reply.Data(Scores).Select(s => s.GetDouble()));
    }

    [Fact]
    public async Task Infer_UnknownFieldsInRequestAndInput_AreIgnored()
    {
        var json = $$$"""{"extra":{"deep":[1,{"x":null}]},"inputs":[{"name":"Features","shape":[1,4],"datatype":"FP32","note":"ignored","data":{{{Json(Rows.Inputs[1])}}}}]}""";

        var reply = await _client.InferAsync(ProtocolModels.Iris, json);

        reply.AssertOk();
        Assert.Equal(Rows.Labels[1], Assert.Single(reply.Data(Labels)).GetString());
    }

    [Fact]
    public async Task Infer_OnlyLabelsRequested_ReturnsOnlyLabels()
    {
        var reply = await _client.InferAsync(ProtocolModels.Iris, Request(Json(Rows.Inputs), 3, """ "outputs":[{"name":"PredictedLabel.output"}], """));

        reply.AssertOk();
        Assert.Equal([Labels], reply.OutputNames);
        Assert.Equal(Rows.Labels, reply.Data(Labels).Select(l => l.GetString()));
    }

    private static string Request(string data, int rows, string before = "") =>
        $$$"""{{{{before}}}"inputs":[{"name":"Features","datatype":"FP32","shape":[{{{rows}}},4],"data":{{{data}}}}]}""";

    private static string Json<T>(T value) => JsonSerializer.Serialize(value);

    private static void AssertScores(IEnumerable<float> expected, IEnumerable<double> actual)
    {
        var wanted = expected.ToList();
        var got = actual.ToList();
        Assert.Equal(wanted.Count, got.Count);
        for (var i = 0; i < wanted.Count; i++)
        {
            Assert.True(Math.Abs(wanted[i] - got[i]) <= Tolerance, $"score {i}: expected {wanted[i]}, got {got[i]}");
        }
    }

    private sealed record Expected(float[][] Inputs, float[][] Scores, string[] Labels);
}

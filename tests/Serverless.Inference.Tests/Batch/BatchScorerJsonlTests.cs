using System.Text;
using System.Text.Json;
using Serverless.Inference.Batch;
using Serverless.Inference.Tests.Batch.Support;

namespace Serverless.Inference.Tests.Batch;

public sealed class BatchScorerJsonlTests(BatchModels models) : IClassFixture<BatchModels>
{
    [Fact]
    public async Task ScoreAsync_ObjectsBareArraysAndRequestsMixed_OneResultPerLineInInputOrder()
    {
        var input = string.Join('\n',
            $$"""{"Features":{{IrisExpected.Json(0)}}}""",
            IrisExpected.Json(1),
            $$"""{"id":"r-3","inputs":[{"name":"Features","shape":[1,4],"datatype":"FP32","data":{{IrisExpected.Json(2)}}}]}""",
            $$"""{"comment":"extra keys are ignored","Features":{{IrisExpected.Json(2)}},"more":[1,{"a":2}]}""",
            $$"""{"inputs":[{"name":"Features","shape":[2,4],"datatype":"FP32","data":[{{IrisExpected.Json(1)}},{{IrisExpected.Json(0)}}]}],"outputs":[{"name":"PredictedLabel.output"}]}""",
            IrisExpected.Json(0)) + "\n";

        var scored = await Scored.RunAsync(models.Host, BatchModels.Iris, input, BatchFormat.Jsonl);

        var lines = scored.Json;
        Assert.Equal(6, lines.Count);
        Assert.Equal([1L, 2, 3, 4, 5, 6], lines.Select(l => l.GetProperty("line").GetInt64()));
        Assert.All(lines, l => Assert.False(l.TryGetProperty("error", out _), l.ToString()));

        IrisExpected.AssertOutputs(0, lines[0].GetProperty("outputs"));
        IrisExpected.AssertOutputs(1, lines[1].GetProperty("outputs"));
        IrisExpected.AssertOutputs(2, lines[3].GetProperty("outputs"));
        IrisExpected.AssertOutputs(0, lines[5].GetProperty("outputs"));
        Assert.Equal(["line", "outputs"], lines[0].EnumerateObject().Select(p => p.Name));

        var response = lines[2].GetProperty("response");
        Assert.Equal("iris", response.GetProperty("model_name").GetString());
        Assert.Equal("1", response.GetProperty("model_version").GetString());
        Assert.Equal("r-3", response.GetProperty("id").GetString());
        var outputs = response.GetProperty("outputs").EnumerateArray().ToList();
        Assert.Equal(["Score.output", "PredictedLabel.output"], outputs.Select(o => o.GetProperty("name").GetString()));
        Assert.Equal([1L, 3], outputs[0].GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()));
        IrisExpected.AssertScores(IrisExpected.Scores[2], outputs[0].GetProperty("data").EnumerateArray().Select(v => v.GetSingle()));
        Assert.Equal([IrisExpected.Labels[2]], outputs[1].GetProperty("data").EnumerateArray().Select(v => v.GetString()));

        var twoRows = lines[4].GetProperty("response").GetProperty("outputs").EnumerateArray().ToList();
        Assert.Equal("PredictedLabel.output", Assert.Single(twoRows).GetProperty("name").GetString());
        Assert.Equal([IrisExpected.Labels[1], IrisExpected.Labels[0]], twoRows[0].GetProperty("data").EnumerateArray().Select(v => v.GetString()));

        scored.AssertCounts(rowsIn: 6, rowsOk: 6, rowsFailed: 0);
        Assert.Equal(("iris", "1", "input.jsonl", "test-input", BatchFormat.Jsonl), (scored.Summary.Model, scored.Summary.ModelVersion, scored.Summary.Input, scored.Summary.InputIdentity, scored.Summary.Format));
        Assert.Equal(1024, scored.Summary.MicroBatchSize);
    }

    [Fact]
    public async Task ScoreAsync_ErrorsBetweenGoodLines_KeepEveryLineNumberInPlace()
    {
        var input = string.Join('\n',
            IrisExpected.Json(0),
            "{ not json",
            IrisExpected.Json(1),
            "",
            $$"""{"inputs":[{"name":"Nope","shape":[1,4],"datatype":"FP32","data":{{IrisExpected.Json(2)}}}]}""",
            IrisExpected.Json(2));

        var scored = await Scored.RunAsync(models.Host, BatchModels.Iris, input, BatchFormat.Jsonl);

        var lines = scored.Json;
        Assert.Equal([1L, 2, 3, 4, 5, 6], lines.Select(l => l.GetProperty("line").GetInt64()));
        IrisExpected.AssertOutputs(0, lines[0].GetProperty("outputs"));
        Assert.StartsWith("not valid JSON:", lines[1].GetProperty("error").GetString(), StringComparison.Ordinal);
        IrisExpected.AssertOutputs(1, lines[2].GetProperty("outputs"));
        Assert.Equal("empty line", lines[3].GetProperty("error").GetString());
        Assert.Contains("unknown input 'Nope'", lines[4].GetProperty("error").GetString(), StringComparison.Ordinal);
        IrisExpected.AssertOutputs(2, lines[5].GetProperty("outputs"));
        Assert.Equal(["line", "error"], lines[1].EnumerateObject().Select(p => p.Name));
        scored.AssertCounts(rowsIn: 6, rowsOk: 3, rowsFailed: 3);
    }

    [Fact]
    public async Task ScoreAsync_CrLfLinesAndNoFinalNewline_ScoresEveryLine()
    {
        var input = IrisExpected.Json(0) + "\r\n" + IrisExpected.Json(1) + "\r\n" + IrisExpected.Json(2);

        var scored = await Scored.RunAsync(models.Host, BatchModels.Iris, input, BatchFormat.Jsonl);

        Assert.Equal(3, scored.Json.Count);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(i + 1, scored.Json[i].GetProperty("line").GetInt64());
            IrisExpected.AssertOutputs(i, scored.Json[i].GetProperty("outputs"));
        }

        Assert.DoesNotContain("\r", scored.Text, StringComparison.Ordinal);
        scored.AssertCounts(3, 3, 0);
    }

    [Fact]
    public async Task ScoreAsync_FirstLineAfterAUtf8ByteOrderMark_IsScored()
    {
        byte[] input = [0xef, 0xbb, 0xbf, .. Encoding.UTF8.GetBytes(IrisExpected.Json(0) + "\n" + IrisExpected.Json(1) + "\n")];

        var scored = await Scored.RunAsync(models.Host, BatchModels.Iris, input, BatchFormat.Jsonl);

        IrisExpected.AssertOutputs(0, scored.Json[0].GetProperty("outputs"));
        IrisExpected.AssertOutputs(1, scored.Json[1].GetProperty("outputs"));
        scored.AssertCounts(2, 2, 0);
    }

    [Fact]
    public async Task ScoreAsync_TwoInputModelObjects_FillEachInputByName()
    {
        const string Input = """
            {"a":[1,2,3],"b":[4,5,6]}
            {"b":[[0.5,0.5,0.5]],"a":[[2,4,8]]}
            [1,2,3]
            {"a":[1,2,3]}

            """;

        var scored = await Scored.RunAsync(models.Host, BatchModels.Add, Input, BatchFormat.Jsonl);

        var lines = scored.Json;
        Assert.Equal(4, lines.Count);
        Assert.Equal([5f, 7f, 9f], Floats(lines[0].GetProperty("outputs").GetProperty("sum")));
        Assert.Equal([4f, 10f, 18f], Floats(lines[0].GetProperty("outputs").GetProperty("product")));
        Assert.Equal([2.5f, 4.5f, 8.5f], Floats(lines[1].GetProperty("outputs").GetProperty("sum")));
        Assert.Equal([1f, 2f, 4f], Floats(lines[1].GetProperty("outputs").GetProperty("product")));
        Assert.Equal(
            "a bare array fits a model with one input; this one has 2 (a, b), so send an object",
            lines[2].GetProperty("error").GetString());
        Assert.Equal("missing input(s): b", lines[3].GetProperty("error").GetString());
        scored.AssertCounts(4, 2, 2);
    }

    [Fact]
    public async Task ScoreAsync_BytesModel_RoundTripsTextIncludingEscapesAndNonAscii()
    {
        const string Input = """
            ["hello"]
            {"x":"wörld ✓"}
            {"x":["a \"quoted\", comma\nand newline"]}
            [""]

            """;

        var scored = await Scored.RunAsync(models.Host, BatchModels.Strings, Input, BatchFormat.Jsonl);

        Assert.Equal(
            ["hello", "wörld ✓", "a \"quoted\", comma\nand newline", ""],
            scored.Json.Select(l => Assert.Single(l.GetProperty("outputs").GetProperty("y").EnumerateArray()).GetString()));
        scored.AssertCounts(4, 4, 0);
    }

    [Fact]
    public async Task ScoreAsync_ModelWithDynamicRowShape_RefusesPlainRowsButRunsRequests()
    {
        const string Input = """
            [1,2,3]
            {"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}

            """;

        var scored = await Scored.RunAsync(models.Host, BatchModels.Dynamic, Input, BatchFormat.Jsonl);

        var lines = scored.Json;
        var error = lines[0].GetProperty("error").GetString()!;
        Assert.Contains("input 'x' has a dynamic dimension besides the batch", error, StringComparison.Ordinal);
        Assert.Contains("send OIP requests, one per line", error, StringComparison.Ordinal);
        var y = Assert.Single(lines[1].GetProperty("response").GetProperty("outputs").EnumerateArray());
        Assert.Equal([1f, 2f, 3f], Floats(y.GetProperty("data")));
        scored.AssertCounts(2, 1, 1);
    }

    [Fact]
    public async Task ScoreAsync_ModelWithDynamicRowShape_CsvIsRefusedAsAWhole()
    {
        var e = await Assert.ThrowsAsync<InferenceException>(() =>
            Scored.RunAsync(models.Host, BatchModels.Dynamic, "x\n1\n", BatchFormat.Csv));

        Assert.Equal(InferenceErrorKind.BadRequest, e.Kind);
        Assert.StartsWith("this model cannot read CSV rows: input 'x' has a dynamic dimension", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ScoreAsync_RequestAskingForBinaryOutputs_IsARowErrorAndTheOthersAreScored()
    {
        var data = IrisExpected.Json(0);
        var input = string.Join('\n',
            IrisExpected.Json(1),
            $$$"""{"inputs":[{"name":"Features","shape":[1,4],"datatype":"FP32","data":{{{data}}}}],"parameters":{"binary_data_output":true}}""",
            $$$"""{"inputs":[{"name":"Features","shape":[1,4],"datatype":"FP32","data":{{{data}}}}],"outputs":[{"name":"Score.output","parameters":{"binary_data":true}}]}""",
            $$$"""{"inputs":[{"name":"Features","shape":[1,4],"datatype":"FP32","data":{{{data}}}}],"outputs":[{"name":"Score.output","parameters":{"binary_data":false}}]}""",
            IrisExpected.Json(2));

        var scored = await Scored.RunAsync(models.Host, BatchModels.Iris, input, BatchFormat.Jsonl);

        var lines = scored.Json;
        IrisExpected.AssertOutputs(1, lines[0].GetProperty("outputs"));
        Assert.Equal("binary outputs cannot be written into a JSON lines file", lines[1].GetProperty("error").GetString());
        Assert.Equal("binary outputs cannot be written into a JSON lines file", lines[2].GetProperty("error").GetString());
        var score = Assert.Single(lines[3].GetProperty("response").GetProperty("outputs").EnumerateArray());
        IrisExpected.AssertScores(IrisExpected.Scores[0], score.GetProperty("data").EnumerateArray().Select(v => v.GetSingle()));
        IrisExpected.AssertOutputs(2, lines[4].GetProperty("outputs"));
        scored.AssertCounts(5, 3, 2);
    }

    [Fact]
    public async Task ScoreAsync_RequestLineOverTheRecordLimit_IsTooLongAndTheNextLineIsScored()
    {
        var padding = new string(' ', 600);
        var request = $$"""{"inputs":[{"name":"Features","shape":[1,4],"datatype":"FP32","data":{{IrisExpected.Json(0)}}}]{{padding}}}""";
        var input = request + "\n" + IrisExpected.Json(1) + "\n";

        var scored = await Scored.RunAsync(models.Host, BatchModels.Iris, input, BatchFormat.Jsonl, new BatchOptions { MaxRecordBytes = 512 });

        Assert.Equal("record is longer than 512 bytes", scored.Json[0].GetProperty("error").GetString());
        IrisExpected.AssertOutputs(1, scored.Json[1].GetProperty("outputs"));
        scored.AssertCounts(2, 1, 1);
    }

    [Fact]
    public async Task ScoreAsync_ManyRows_ReportsProgressAfterEachMicroBatchAndAtTheEnd()
    {
        var input = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 5).Select(i => IrisExpected.Json(i % 3) + "\n")));
        var reports = new List<BatchProgress>();

        var scored = await Scored.RunAsync(
            models.Host, BatchModels.Iris, input, BatchFormat.Jsonl, new BatchOptions { MicroBatchSize = 2 }, new ListProgress(reports));

        Assert.Equal([2L, 4, 5], reports.Select(r => r.Rows));
        Assert.All(reports, r => Assert.Equal(0, r.FailedRows));
        Assert.Equal(input.Length, reports[^1].BytesRead);
        Assert.Equal(2, scored.Summary.MicroBatchSize);
        scored.AssertCounts(5, 5, 0);
    }

    private static float[] Floats(JsonElement array) => [.. array.EnumerateArray().Select(v => v.GetSingle())];

    /// <summary>Collects reports on the scoring thread itself, in order.</summary>
    private sealed class ListProgress(List<BatchProgress> reports) : IProgress<BatchProgress>
    {
        public void Report(BatchProgress value) => reports.Add(value);
    }
}

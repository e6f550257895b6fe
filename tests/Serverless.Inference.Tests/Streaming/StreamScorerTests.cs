using System.Text;
using System.Text.Json;
using Serverless.Inference.Batch;
using Serverless.Inference.Streaming;
using Serverless.Inference.Tests.Batch.Support;
using Serverless.Inference.Tests.Streaming.Support;

namespace Serverless.Inference.Tests.Streaming;

public sealed class StreamScorerTests(StreamModels models) : IClassFixture<StreamModels>
{
    [Fact]
    public async Task ScoreAsync_ManyPasses_ResultsInRecordOrderOnePerRecord()
    {
        // The lookup model batches 64 rows, so 700 records take several passes of the batch scorer.
        var records = Enumerable.Range(0, 700).Select(i => Records.Of("k", i, $"[{i % 3}]")).ToList();

        var results = await ScoreAsync(StreamModels.Lookup, records);

        Assert.Equal(records, results.Select(r => r.Record));
        Assert.Equal(
            records.Select((_, i) => BatchModels.LookupTable[i % 3]),
            results.Select(r => Outputs(r).GetProperty("value")[0].GetSingle()));
    }

    [Fact]
    public async Task ScoreAsync_OneRowTheModelRefuses_OnlyThatRecordFails()
    {
        var results = await ScoreAsync(StreamModels.Lookup, Records.Sequence("k", 1, "[1]", "[7]", "[2]"));

        Assert.Equal([StreamResultKind.Outputs, StreamResultKind.Error, StreamResultKind.Outputs], results.Select(r => r.Kind));
        Assert.Equal(20f, Outputs(results[0]).GetProperty("value")[0].GetSingle());
        Assert.Equal(30f, Outputs(results[2]).GetProperty("value")[0].GetSingle());
        Assert.False(string.IsNullOrEmpty(results[1].Message));
    }

    [Fact]
    public async Task ScoreAsync_TextModel_ATextLineAJsonStringAndARecordGiveTheSameEmbedding()
    {
        List<StreamRecord> records =
        [
            Records.Of("k", 1, "The sensor reads too hot"),
            Records.Of("k", 2, "\"The sensor reads too hot\""),
            Records.Of("k", 3, """{"text": ["The sensor reads too hot"]}"""),
            new("k", "4", Records.Start, new byte[] { 0x66, 0xC3, 0x28 }),
            Records.Of("k", 5, "a line\nwith a break"),
        ];

        var results = await ScoreAsync(StreamModels.MiniLm, records);

        var embeddings = results.Take(3).Select(r => Outputs(r).GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle()).ToArray()).ToList();
        Assert.Equal(384, embeddings[0].Length);
        Assert.Equal(embeddings[0], embeddings[1]);
        Assert.Equal(embeddings[0], embeddings[2]);
        Assert.Equal("the record is not valid UTF-8", results[3].Message);
        Assert.Equal(StreamResultKind.Outputs, results[4].Kind);
        Assert.NotEqual(embeddings[0], Outputs(results[4]).GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle()).ToArray());
    }

    [Fact]
    public async Task ScoreAsync_SameRecordsAsABatchFile_SameOutputs()
    {
        var rows = Enumerable.Range(0, 50).Select(i => IrisExpected.Json(i % IrisExpected.Count)).ToList();
        var records = rows.Select((row, i) => Records.Of("k", i, row)).ToList();

        var streamed = await ScoreAsync(StreamModels.Iris, records);
        var batched = await Scored.RunAsync(models.Host, StreamModels.Iris, string.Join('\n', rows), BatchFormat.Jsonl);

        Assert.Equal(
            batched.Json.Select(line => line.GetProperty("outputs").GetRawText()),
            streamed.Select(r => Encoding.UTF8.GetString(r.Json.Span)));
    }

    [Fact]
    public async Task ScoreAsync_OipRequestRecord_IsAResponseResult()
    {
        var request = $$"""{"id":"r-1","inputs":[{"name":"Features","shape":[1,4],"datatype":"FP32","data":{{IrisExpected.Json(2)}}}]}""";

        var result = Assert.Single(await ScoreAsync(StreamModels.IrisAlerts, Records.Sequence("k", 1, request)));

        Assert.Equal(StreamResultKind.Response, result.Kind);
        Assert.Equal("r-1", Outputs(result).GetProperty("id").GetString());
        Assert.Empty(result.Alerts);
    }

    [Fact]
    public async Task ScoreAsync_InMemoryStateAcrossCalls_CountsTheStreakAsTheProcessorDoes()
    {
        using var lease = await models.AcquireAsync(StreamModels.IrisAlerts);
        using var scorer = new StreamScorer(lease);
        var state = new StreamState();

        var first = await Collect(scorer.ScoreAsync(Records.Sequence("k", 1, IrisExpected.Json(2)), state, CancellationToken.None));
        var second = await Collect(scorer.ScoreAsync(Records.Sequence("k", 2, IrisExpected.Json(2)), state, CancellationToken.None));

        Assert.True(scorer.KeepsState);
        Assert.Empty(first[0].Alerts);
        var alert = Assert.Single(second[0].Alerts);
        Assert.Equal((StreamModels.Virginica, "k", "2"), (alert.Rule, alert.PartitionKey, alert.Position));
        Assert.Equal(1, state.KeyCount);
    }

    private static JsonElement Outputs(StreamResult result) => JsonDocument.Parse(result.Json).RootElement;

    private static async Task<List<StreamResult>> Collect(IAsyncEnumerable<StreamResult> results)
    {
        var list = new List<StreamResult>();
        await foreach (var result in results)
        {
            list.Add(result);
        }

        return list;
    }

    private async Task<List<StreamResult>> ScoreAsync(string model, IReadOnlyList<StreamRecord> records)
    {
        using var lease = await models.AcquireAsync(model);
        using var scorer = new StreamScorer(lease);
        return await Collect(scorer.ScoreAsync(records, new StreamState(), CancellationToken.None));
    }
}

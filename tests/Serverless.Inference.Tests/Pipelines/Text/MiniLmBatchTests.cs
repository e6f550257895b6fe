using System.Globalization;
using System.Text;
using System.Text.Json;
using Serverless.Inference.Batch;
using Serverless.Inference.Pipelines.Steps;
using Serverless.Inference.Tests.Batch.Support;
using static Serverless.Inference.Tests.Pipelines.Text.MiniLmFixture;

namespace Serverless.Inference.Tests.Pipelines.Text;

/// <summary>Batch files through the MiniLM pipeline: a text column in, an embedding per row out, bad rows in their place.</summary>
[Collection(MiniLmCollection.Name)]
public sealed class MiniLmBatchTests(MiniLmFixture fixture)
{
    private static readonly string LongText = string.Join(' ', Enumerable.Repeat("example", 400));

    [Fact]
    public async Task ScoreAsync_JsonlTextsWithBadRows_ErrorsInPlaceAndTheOtherRowsEmbedded()
    {
        var lines = new List<byte[]>
        {
            Line("""{"text": "eating food"}"""),
            Line("""{"text": ""}"""),
            Line($$"""{"text": "{{LongText}}"}"""),
            Line("""{"text": 42}"""),
            Latin1Line("""{"text": "café"}"""),
            Line("""{"text": "caf\udce9"}"""),
            Line("""{"text": "a movie"}"""),
            Line($$"""{"id": "r-8", "inputs": [{"name": "text", "datatype": "BYTES", "shape": [3], "data": ["eating food", "a movie", "{{LongText}}"]}]}"""),
        };

        var scored = await Scored.RunAsync(fixture.Host, Model, [.. lines.SelectMany(line => line.Append((byte)'\n'))], BatchFormat.Jsonl);

        var results = scored.Json;
        scored.AssertCounts(rowsIn: 8, rowsOk: 4, rowsFailed: 4);
        Assert.Equal([1L, 2, 3, 4, 5, 6, 7, 8], results.Select(r => r.GetProperty("line").GetInt64()));
        Assert.Contains("input 'text' element 0 is empty", Error(results[1]), StringComparison.Ordinal);
        Assert.Contains("input 'text' is BYTES but element 0 is a number", Error(results[3]), StringComparison.Ordinal);
        Assert.Equal("the line is not valid UTF-8", Error(results[4]));
        Assert.Contains("input 'text' element 0 is not valid text", Error(results[5]), StringComparison.Ordinal);

        var expected = await fixture.EmbedAsync("eating food", "ok", LongText, "a movie");
        AssertClose(expected[0], Embedding(results[0].GetProperty("outputs")));
        AssertClose(expected[2], Embedding(results[2].GetProperty("outputs")));
        AssertClose(expected[3], Embedding(results[6].GetProperty("outputs")));

        // A request line answers as /infer does, the truncation parameter included when there is one.
        var response = results[7].GetProperty("response");
        Assert.Equal("r-8", response.GetProperty("id").GetString());
        Assert.Equal(1, response.GetProperty("parameters").GetProperty(BertTokenizeStep.TruncatedParameter).GetInt32());
        var embedding = response.GetProperty("outputs")[0];
        Assert.Equal([3L, Dimensions], embedding.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()));
        var three = Vectors([.. embedding.GetProperty("data").EnumerateArray().Select(v => v.GetSingle())], 3);
        AssertClose(expected[0], three[0]);
        AssertClose(expected[3], three[1]);
        AssertClose(expected[2], three[2]);
    }

    [Fact]
    public async Task ScoreAsync_CsvTextColumn_OneEmbeddingPerRowAndBadRowsInPlace()
    {
        var input = new List<byte>();
        input.AddRange("id,text\n"u8);
        input.AddRange("1,eating food\n"u8);
        input.AddRange("2,\n"u8);
        input.AddRange("3,\"café, naïve\"\n"u8);
        input.AddRange(Latin1Line("4,café\n"));
        input.AddRange(Encoding.UTF8.GetBytes($"5,{LongText}\n"));
        input.AddRange("6,a movie,extra\n"u8);
        input.AddRange("7,a movie\n"u8);

        var scored = await Scored.RunAsync(fixture.Host, Model, [.. input], BatchFormat.Csv);

        scored.AssertCounts(rowsIn: 7, rowsOk: 4, rowsFailed: 3);
        var rows = scored.CsvRecords;
        // A row that is not text is not echoed back: its fields stay empty, its error says which line it was.
        Assert.Equal(["1", "2", "3", "", "5", "6", "7"], rows.Select(row => row["id"]));
        Assert.Contains("element 0 is empty", rows[1]["error"], StringComparison.Ordinal);
        Assert.Contains("the row is not valid UTF-8", rows[3]["error"], StringComparison.Ordinal);
        Assert.Contains("the row has 3 fields but the header has 2", rows[5]["error"], StringComparison.Ordinal);
        var expected = await fixture.EmbedAsync("eating food", "café, naïve", LongText, "a movie");
        foreach (var (row, vector) in new[] { (0, 0), (2, 1), (4, 2), (6, 3) })
        {
            Assert.Equal("", rows[row]["error"]);
            AssertClose(expected[vector], CsvEmbedding(rows[row]));
        }
    }

    private static byte[] Line(string json) => Encoding.UTF8.GetBytes(json);

    /// <summary>A line in Latin-1, where é is the byte 0xE9: not UTF-8.</summary>
    private static byte[] Latin1Line(string json) => Encoding.Latin1.GetBytes(json);

    private static string Error(JsonElement result) =>
        result.TryGetProperty("error", out var error) ? error.GetString()! : throw new Xunit.Sdk.XunitException($"expected an error, got {result}");

    private static float[] Embedding(JsonElement outputs)
    {
        var values = outputs.GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        Assert.Equal(Dimensions, values.Length);
        return values;
    }

    private static float[] CsvEmbedding(IReadOnlyDictionary<string, string> row)
    {
        var columns = row.Keys.Where(key => key.StartsWith("embedding", StringComparison.Ordinal)).ToList();
        Assert.Equal(Dimensions, columns.Count);
        return [.. columns.Select(column => float.Parse(row[column], CultureInfo.InvariantCulture))];
    }
}

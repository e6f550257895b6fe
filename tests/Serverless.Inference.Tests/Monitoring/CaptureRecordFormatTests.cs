using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Serverless.Inference.Batch;
using Serverless.Inference.Tests.Batch.Support;

namespace Serverless.Inference.Tests.Monitoring;

/// <summary>Records read back from the objects a real request wrote, checked against the documented format field by field.</summary>
public sealed partial class CaptureRecordFormatTests
{
    private const string Scores = "Score.output";
    private const string Labels = "PredictedLabel.output";
    private static readonly Dictionary<string, string> IrisAll = new() { ["iris"] = """{"sample_rate":1}""" };

    [Fact]
    public async Task Infer_IrisOneRowWithId_OneRecordInTheDocumentedFormatAndKey()
    {
        await using var host = new CaptureTestHost(IrisAll);

        await host.InferAsync("iris", Request("req-42", 0));
        await host.Capture.FlushAsync();

        var (key, records) = Assert.Single(host.Objects());
        Assert.Matches(ObjectKey(), key);
        Assert.StartsWith($"capture/iris/1/{DateTime.UtcNow:yyyy}/", key, StringComparison.Ordinal);
        var record = Assert.Single(records);
        Assert.Equal(
            ["time", "model", "version", "identity", "source", "id", "row", "inputs", "outputs"],
            record.EnumerateObject().Select(p => p.Name));
        Assert.Matches(Time(), record.GetProperty("time").GetString());
        Assert.Equal("iris", record.GetProperty("model").GetString());
        Assert.Equal("1", record.GetProperty("version").GetString());
        using (var lease = await host.Host.AcquireAsync("iris", null, CancellationToken.None))
        {
            Assert.Equal(lease.Identity, record.GetProperty("identity").GetString());
        }

        Assert.Equal("online", record.GetProperty("source").GetString());
        Assert.Equal("req-42", record.GetProperty("id").GetString());
        Assert.Equal(0, record.GetProperty("row").GetInt32());
        Assert.Equal(IrisExpected.Inputs[0], Floats(record.GetProperty("inputs").GetProperty("Features")));
        AssertScores(0, record.GetProperty("outputs").GetProperty(Scores));
        Assert.Equal(JsonValueKind.String, record.GetProperty("outputs").GetProperty(Labels).ValueKind);
        Assert.Equal(IrisExpected.Labels[0], record.GetProperty("outputs").GetProperty(Labels).GetString());
    }

    [Fact]
    public async Task Infer_IrisThreeRows_OneRecordPerRowWithRowIds()
    {
        await using var host = new CaptureTestHost(IrisAll);

        await host.InferAsync("iris", Request("req-7", 0, 1, 2));
        await host.Capture.FlushAsync();

        var records = host.Records();
        Assert.Equal(3, records.Count);
        for (var row = 0; row < 3; row++)
        {
            Assert.Equal($"req-7/{row}", records[row].GetProperty("id").GetString());
            Assert.Equal(row, records[row].GetProperty("row").GetInt32());
            Assert.Equal(IrisExpected.Inputs[row], Floats(records[row].GetProperty("inputs").GetProperty("Features")));
            AssertScores(row, records[row].GetProperty("outputs").GetProperty(Scores));
            Assert.Equal(IrisExpected.Labels[row], records[row].GetProperty("outputs").GetProperty(Labels).GetString());
        }
    }

    [Fact]
    public async Task Infer_NoRequestId_GeneratedInstanceSequenceIds()
    {
        await using var host = new CaptureTestHost(IrisAll);

        await host.InferAsync("iris", Request(null, 0));
        await host.InferAsync("iris", Request(null, 1, 2));
        await host.Capture.FlushAsync();

        var ids = host.Records().Select(r => r.GetProperty("id").GetString()!).ToList();
        Assert.Matches(GeneratedId(), ids[0]);
        Assert.Equal([ids[1][..^2] + "/0", ids[1][..^2] + "/1"], ids[1..]);
        Assert.NotEqual(ids[0], ids[1][..^2]);
        var instance = ids[0][..12];
        Assert.EndsWith($"/{instance}-00000001.jsonl", Assert.Single(host.Objects()).Key, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Infer_InputsAndOutputsOff_RecordHasNeither()
    {
        await using var host = new CaptureTestHost(new Dictionary<string, string> { ["iris"] = """{"sample_rate":1,"inputs":false,"outputs":false}""" });

        await host.InferAsync("iris", Request("a", 0));
        await host.Capture.FlushAsync();

        var record = Assert.Single(host.Records());
        Assert.False(record.TryGetProperty("inputs", out _));
        Assert.False(record.TryGetProperty("outputs", out _));
    }

    [Fact]
    public async Task Infer_SampleRateZero_NothingWritten()
    {
        await using var host = new CaptureTestHost(new Dictionary<string, string> { ["iris"] = """{"sample_rate":0}""" });

        for (var i = 0; i < 20; i++)
        {
            await host.InferAsync("iris", Request("a", 0));
        }

        await host.Capture.FlushAsync();

        Assert.Empty(host.Objects());
    }

    [Fact]
    public async Task Infer_MiniLmText_TextCapturedAsAStringAndTheEmbedding()
    {
        await using var host = new CaptureTestHost(new Dictionary<string, string> { ["minilm"] = """{"sample_rate":1}""" });

        await host.InferAsync("minilm", TextRequest("t-1", "capture me, café"));
        await host.Capture.FlushAsync();

        var record = Assert.Single(host.Records());
        Assert.Equal("capture me, café", record.GetProperty("inputs").GetProperty("text").GetString());
        Assert.Equal(384, record.GetProperty("outputs").GetProperty("embedding").GetArrayLength());
        Assert.False(record.TryGetProperty("redacted", out _));
    }

    [Fact]
    public async Task Infer_MiniLmTextRedacted_TextAbsentAndListed()
    {
        await using var host = new CaptureTestHost(new Dictionary<string, string> { ["minilm"] = """{"sample_rate":1,"redact":["text"]}""" });

        await host.InferAsync("minilm", TextRequest("t-2", "a private sentence"));
        await host.Capture.FlushAsync();

        var record = Assert.Single(host.Records());
        Assert.Empty(record.GetProperty("inputs").EnumerateObject());
        Assert.Equal(["text"], record.GetProperty("redacted").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(384, record.GetProperty("outputs").GetProperty("embedding").GetArrayLength());
        Assert.DoesNotContain("private", File.ReadAllText(Directory.EnumerateFiles(host.CaptureRoot, "*.jsonl", SearchOption.AllDirectories).Single()), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Infer_ValuePastMaxRecordBytes_ValueAbsentAndListedAsTruncated()
    {
        await using var host = new CaptureTestHost(new Dictionary<string, string> { ["minilm"] = """{"sample_rate":1,"max_record_bytes":1024}""" });

        await host.InferAsync("minilm", TextRequest("t-3", "short"));
        await host.Capture.FlushAsync();

        var (_, records) = Assert.Single(host.Objects());
        var record = Assert.Single(records);
        Assert.Equal("short", record.GetProperty("inputs").GetProperty("text").GetString());
        Assert.False(record.GetProperty("outputs").TryGetProperty("embedding", out _));
        Assert.Equal(["embedding"], record.GetProperty("truncated").EnumerateArray().Select(e => e.GetString()));
        var line = File.ReadAllLines(Directory.EnumerateFiles(host.CaptureRoot, "*.jsonl", SearchOption.AllDirectories).Single()).Single();
        Assert.True(Encoding.UTF8.GetByteCount(line) + 1 <= 1024);
    }

    [Fact]
    public async Task Score_IrisBatchRows_SourceBatchWithTheRowsOwnIdOrFileAndLine()
    {
        await using var host = new CaptureTestHost(IrisAll);
        using var lease = await host.Host.AcquireAsync("iris", null, CancellationToken.None);
        var input = string.Join('\n',
            $$"""{"id":"row-a","Features":{{IrisExpected.Json(0)}}}""",
            $$"""{"Features":{{IrisExpected.Json(1)}}}""",
            $$"""{"Features":"not numbers"}""",
            $$"""{"id":"r-3","inputs":[{"name":"Features","shape":[1,4],"datatype":"FP32","data":{{IrisExpected.Json(2)}}}]}""") + "\n";

        await new BatchScorer(lease).ScoreAsync(
            new MemoryStream(Encoding.UTF8.GetBytes(input)), Stream.Null, new BatchJob("incoming/iris/rows.jsonl", "etag", BatchFormat.Jsonl), null, CancellationToken.None);
        await host.Capture.FlushAsync();

        var records = host.Records().OrderBy(r => r.GetProperty("id").GetString(), StringComparer.Ordinal).ToList();
        Assert.Equal(["r-3", "row-a", "rows.jsonl:2"], records.Select(r => r.GetProperty("id").GetString()));
        Assert.All(records, r => Assert.Equal("batch", r.GetProperty("source").GetString()));
        int[] expectedRows = [2, 0, 1];
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(IrisExpected.Inputs[expectedRows[i]], Floats(records[i].GetProperty("inputs").GetProperty("Features")));
            Assert.Equal(IrisExpected.Labels[expectedRows[i]], records[i].GetProperty("outputs").GetProperty(Labels).GetString());
        }
    }

    private static string Request(string? id, params int[] rows)
    {
        var idField = id is null ? "" : $"\"id\":\"{id}\",";
        var data = string.Join(',', rows.Select(IrisExpected.Json));
        return $$"""{{{idField}}"inputs":[{"name":"Features","datatype":"FP32","shape":[{{rows.Length}},4],"data":[{{data}}]}]}""";
    }

    private static string TextRequest(string id, string text) =>
        $$"""{"id":"{{id}}","inputs":[{"name":"text","datatype":"BYTES","shape":[1],"data":[{{JsonSerializer.Serialize(text)}}]}]}""";

    private static float[] Floats(JsonElement array) => [.. array.EnumerateArray().Select(v => v.GetSingle())];

    private static void AssertScores(int row, JsonElement scores)
    {
        var values = Floats(scores);
        Assert.Equal(IrisExpected.Scores[row].Length, values.Length);
        for (var i = 0; i < values.Length; i++)
        {
            Assert.Equal(IrisExpected.Scores[row][i], values[i], IrisExpected.Tolerance);
        }
    }

    [GeneratedRegex(@"^capture/iris/1/\d{4}/\d{2}/\d{2}/\d{2}/[0-9a-f]{12}-\d{8}\.jsonl$")]
    private static partial Regex ObjectKey();

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")]
    private static partial Regex Time();

    [GeneratedRegex(@"^[0-9a-f]{12}-\d{8}$")]
    private static partial Regex GeneratedId();
}

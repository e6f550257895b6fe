using System.Text;
using Serverless.Inference.Batch;
using Serverless.Inference.Tests.Batch.Support;

namespace Serverless.Inference.Tests.Batch;

/// <summary>A record far beyond the size limit is skipped as it streams past, never held in memory.</summary>
[Collection(SerialCollection.Name)]
public sealed class BatchScorerHugeRecordTests(BatchModels models) : IClassFixture<BatchModels>
{
    private const long MaxGrowth = 64L << 20;

    [Fact]
    public async Task ScoreAsync_OneGigabyteJsonlLineBetweenGoodLines_IsARowErrorWithoutBufferingIt()
    {
        const long Huge = 1L << 30;
        var before = Encoding.UTF8.GetBytes(IrisExpected.Json(0) + "\n");
        var after = Encoding.UTF8.GetBytes("\n" + IrisExpected.Json(2) + "\n");
        using var lease = await models.AcquireAsync(BatchModels.Iris);
        var scorer = new BatchScorer(lease);
        using var input = new GeneratedStream(before, Huge, (byte)'x', after);
        using var output = new MemoryStream();
        await Warm(scorer);

        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var summary = await scorer.ScoreAsync(input, output, new BatchJob("huge.jsonl", "huge", BatchFormat.Jsonl), null, CancellationToken.None);
        var growth = GC.GetTotalAllocatedBytes(precise: true) - allocated;

        var scored = new Scored(output.ToArray(), summary);
        var lines = scored.Json;
        Assert.Equal(3, lines.Count);
        IrisExpected.AssertOutputs(0, lines[0].GetProperty("outputs"));
        Assert.Equal(2, lines[1].GetProperty("line").GetInt64());
        Assert.Equal($"record is longer than {new BatchOptions().MaxRecordBytes} bytes", lines[1].GetProperty("error").GetString());
        Assert.Equal(3, lines[2].GetProperty("line").GetInt64());
        IrisExpected.AssertOutputs(2, lines[2].GetProperty("outputs"));
        scored.AssertCounts(3, 2, 1);
        Assert.Equal(input.TotalLength, input.Consumed);
        Assert.True(growth < MaxGrowth, $"scoring allocated {growth:N0} bytes for a {Huge:N0}-byte line");
    }

    [Fact]
    public async Task ScoreAsync_HugeCsvRecordBetweenGoodRows_IsARowErrorWithoutBufferingIt()
    {
        const long Huge = 64L << 20;
        var before = Encoding.UTF8.GetBytes($"id,{IrisExpected.Header}\n1,{IrisExpected.Csv(1)}\n2,");
        var after = Encoding.UTF8.GetBytes($"\n3,{IrisExpected.Csv(2)}\n");
        using var lease = await models.AcquireAsync(BatchModels.Iris);
        var scorer = new BatchScorer(lease);
        using var input = new GeneratedStream(before, Huge, (byte)'7', after);
        using var output = new MemoryStream();
        await Warm(scorer);

        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var summary = await scorer.ScoreAsync(input, output, new BatchJob("huge.csv", "huge", BatchFormat.Csv), null, CancellationToken.None);
        var growth = GC.GetTotalAllocatedBytes(precise: true) - allocated;

        var records = new Scored(output.ToArray(), summary).CsvRecords;
        Assert.Equal(["1", "", "3"], records.Select(r => r["id"]));
        Assert.Equal(["", $"line 3: record is longer than {new BatchOptions().MaxRecordBytes} bytes", ""], records.Select(r => r["error"]));
        Assert.Equal([IrisExpected.Labels[1], "", IrisExpected.Labels[2]], records.Select(r => r["PredictedLabel.output"]));
        Assert.Equal((3L, 2L, 1L), (summary.RowsIn, summary.RowsOk, summary.RowsFailed));
        Assert.Equal(input.TotalLength, input.Consumed);
        Assert.True(growth < MaxGrowth, $"scoring allocated {growth:N0} bytes for a {Huge:N0}-byte record");
    }

    [Fact]
    public async Task ScoreAsync_HugeLastLineWithoutNewline_IsARowErrorAfterTheGoodLines()
    {
        var before = Encoding.UTF8.GetBytes(IrisExpected.Json(1) + "\n");
        using var input = new GeneratedStream(before, 8L << 20, (byte)' ', []);
        using var lease = await models.AcquireAsync(BatchModels.Iris);
        using var output = new MemoryStream();

        var summary = await new BatchScorer(lease).ScoreAsync(input, output, new BatchJob("tail.jsonl", "tail", BatchFormat.Jsonl), null, CancellationToken.None);

        var lines = new Scored(output.ToArray(), summary).Json;
        IrisExpected.AssertOutputs(1, lines[0].GetProperty("outputs"));
        Assert.Equal(2, lines[1].GetProperty("line").GetInt64());
        Assert.Equal($"record is longer than {new BatchOptions().MaxRecordBytes} bytes", lines[1].GetProperty("error").GetString());
        Assert.Equal(2, lines.Count);
    }

    /// <summary>One small file first, so first-use costs (JIT, pools, the model's first run) are not counted.</summary>
    private static async Task Warm(BatchScorer scorer)
    {
        foreach (var (format, text) in new[] { (BatchFormat.Jsonl, IrisExpected.Json(0) + "\n"), (BatchFormat.Csv, $"{IrisExpected.Header}\n{IrisExpected.Csv(0)}\n") })
        {
            using var input = new MemoryStream(Encoding.UTF8.GetBytes(text));
            using var output = new MemoryStream();
            await scorer.ScoreAsync(input, output, new BatchJob("warm", "warm", format), null, CancellationToken.None);
        }
    }
}

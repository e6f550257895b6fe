using System.Text;
using Serverless.Inference.Batch;
using Serverless.Inference.Tests.Batch.Support;

namespace Serverless.Inference.Tests.Batch;

/// <summary>
/// Reading and parsing the next micro-batch while the model runs on this one: the same bytes as one thing at a time,
/// and a failure on the writing side stops the reading side instead of leaving it waiting.
/// </summary>
public sealed class BatchScorerOverlapTests(BatchModels models) : IClassFixture<BatchModels>
{
    [Theory]
    [InlineData(BatchFormat.Csv)]
    [InlineData(BatchFormat.Jsonl)]
    public async Task ScoreAsync_ManyMicroBatchesWithErrors_SameBytesOverlappedOrNot(BatchFormat format)
    {
        var input = new StringBuilder(format == BatchFormat.Csv ? $"id,{IrisExpected.Header}\n" : "");
        for (var i = 0; i < 5000; i++)
        {
            var bad = i % 97 == 5;
            input.Append(format == BatchFormat.Csv
                ? $"{i},{(bad ? "1,2" : IrisExpected.Csv(i % IrisExpected.Count))}\n"
                : $"{(bad ? "[1,2]" : IrisExpected.Json(i % IrisExpected.Count))}\n");
        }

        var overlapped = await Scored.RunAsync(models.Host, BatchModels.Iris, input.ToString(), format, new BatchOptions { MicroBatchSize = 64 });
        var sequential = await Scored.RunAsync(models.Host, BatchModels.Iris, input.ToString(), format, new BatchOptions { MicroBatchSize = 64, Overlapped = false });

        Assert.Equal(sequential.Text, overlapped.Text);
        overlapped.AssertCounts(5000, 5000 - 52, 52);
    }

    [Fact]
    public async Task ScoreAsync_OutputFailsMidFile_ThatFailureComesOutAndNothingHangs()
    {
        var input = string.Concat(Enumerable.Range(0, 20_000).Select(i => IrisExpected.Json(i % IrisExpected.Count) + "\n"));
        using var lease = await models.AcquireAsync(BatchModels.Iris);
        using var source = new MemoryStream(Encoding.UTF8.GetBytes(input));
        await using var output = new FailingStream(afterBytes: 100_000);

        var error = await Assert.ThrowsAsync<IOException>(() =>
            new BatchScorer(lease, new BatchOptions { MicroBatchSize = 16 }).ScoreAsync(source, output, new BatchJob("in.jsonl", "id", BatchFormat.Jsonl), null, default).WaitAsync(TimeSpan.FromMinutes(2)));

        Assert.Equal("the disk is full", error.Message);
    }

    private sealed class FailingStream(long afterBytes) : MemoryStream
    {
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            Length + buffer.Length > afterBytes ? throw new IOException("the disk is full") : base.WriteAsync(buffer, cancellationToken);
    }
}

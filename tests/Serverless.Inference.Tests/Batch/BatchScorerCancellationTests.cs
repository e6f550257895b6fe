using System.Globalization;
using System.Text;
using Serverless.Inference.Batch;
using Serverless.Inference.Hosting;
using Serverless.Inference.Tests.Batch.Support;

namespace Serverless.Inference.Tests.Batch;

public sealed class BatchScorerCancellationTests(BatchModels models) : IClassFixture<BatchModels>
{
    private const int Rows = 256;
    private const int MicroBatch = 16;

    [Fact]
    public async Task ScoreAsync_CancelledAfterTheFirstMicroBatch_ThrowsAndScoresNoFurther()
    {
        using var lease = await models.AcquireAsync(BatchModels.Slow);
        var scorer = new BatchScorer(lease, new BatchOptions { MicroBatchSize = MicroBatch });
        using var input = new MemoryStream(SlowRows());
        using var output = new MemoryStream();
        using var cancel = new CancellationTokenSource();
        var reports = new List<BatchProgress>();
        var progress = new CallbackProgress(p =>
        {
            reports.Add(p);
            cancel.Cancel();
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            scorer.ScoreAsync(input, output, new BatchJob("slow.jsonl", "slow", BatchFormat.Jsonl), progress, cancel.Token));

        Assert.Equal(MicroBatch, Assert.Single(reports).Rows);
        var lines = new Scored(output.ToArray(), Summary(lease)).Json;
        Assert.Equal(MicroBatch, lines.Count);
        for (var i = 0; i < MicroBatch; i++)
        {
            Assert.Equal(i + 1, lines[i].GetProperty("line").GetInt64());
            var y = lines[i].GetProperty("outputs").GetProperty("y").EnumerateArray().Select(v => v.GetSingle()).ToList();
            Assert.Equal(BatchModels.SlowWidth, y.Count);
            Assert.All(y, v => Assert.Equal(RowValue(i), v, 1e-3f));
        }
    }

    [Fact]
    public async Task ScoreAsync_CancelledFromAnotherThreadMidFile_Throws()
    {
        using var lease = await models.AcquireAsync(BatchModels.Slow);
        var scorer = new BatchScorer(lease, new BatchOptions { MicroBatchSize = MicroBatch });
        using var input = new MemoryStream(SlowRows());
        using var output = new MemoryStream();
        using var cancel = new CancellationTokenSource();
        var firstBatch = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var proceed = new ManualResetEventSlim();
        var progress = new CallbackProgress(_ =>
        {
            // Hold the scorer after its first micro-batch until the token is cancelled, so it is mid-file.
            firstBatch.TrySetResult();
            proceed.Wait(TimeSpan.FromMinutes(2));
        });

        var scoring = Task.Run(() => scorer.ScoreAsync(input, output, new BatchJob("slow.jsonl", "slow", BatchFormat.Jsonl), progress, cancel.Token));
        await firstBatch.Task;
        await cancel.CancelAsync();
        proceed.Set();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => scoring);
        Assert.True(output.Length > 0);
        Assert.True(input.Position < input.Length, "the scorer read the whole file");
    }

    [Fact]
    public async Task ScoreAsync_TokenAlreadyCancelled_ThrowsBeforeWritingAnything()
    {
        using var lease = await models.AcquireAsync(BatchModels.Slow);
        using var input = new MemoryStream(SlowRows());
        using var output = new MemoryStream();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            new BatchScorer(lease).ScoreAsync(input, output, new BatchJob("slow.jsonl", "slow", BatchFormat.Jsonl), null, new CancellationToken(canceled: true)));

        Assert.Equal(0, output.Length);
    }

    private static float RowValue(int row) => row % 10;

    private static byte[] SlowRows()
    {
        var text = new StringBuilder();
        for (var i = 0; i < Rows; i++)
        {
            var value = RowValue(i).ToString(CultureInfo.InvariantCulture);
            text.Append('[').AppendJoin(',', Enumerable.Repeat(value, BatchModels.SlowWidth)).Append("]\n");
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }

    private static BatchSummary Summary(ModelLease lease) =>
        new() { Model = lease.Name, ModelVersion = lease.Version, ModelIdentity = lease.Identity, Input = "", InputIdentity = "", Format = BatchFormat.Jsonl };

    /// <summary>Reports on the scoring thread itself, synchronously.</summary>
    private sealed class CallbackProgress(Action<BatchProgress> report) : IProgress<BatchProgress>
    {
        public void Report(BatchProgress value) => report(value);
    }
}

using System.Globalization;
using System.Text;
using Serverless.Inference.Batch;
using Serverless.Inference.Runtime;
using Serverless.Inference.Tests.Batch.Support;

namespace Serverless.Inference.Tests.Batch;

/// <summary>Micro-batching: sizes, input order across batches, and a row that fails at run time isolated from its batch.</summary>
public sealed class BatchScorerMicroBatchTests(BatchModels models) : IClassFixture<BatchModels>
{
    private const string RunFailure = "the model could not run on this input: ";

    [Fact]
    public async Task ScoreAsync_OneRowFailsAtRunTimeInsideAMicroBatch_OnlyThatRowFailsInCsv()
    {
        const string Input = "name,index\na,0\nb,1\nc,2\nd,7\ne,1\nf,-3\n";

        var scored = await Scored.RunAsync(models.Host, BatchModels.Lookup, Input, BatchFormat.Csv);

        Assert.Equal(64, scored.Summary.MicroBatchSize);
        var records = scored.CsvRecords;
        Assert.Equal(["10", "20", "30", "", "20", "10"], records.Select(r => r["value"]));
        Assert.Equal(["", "", "", "", "", ""], records.Select((r, i) => i == 3 ? "" : r["error"]));
        Assert.StartsWith("line 5: " + RunFailure, records[3]["error"], StringComparison.Ordinal);
        Assert.Contains("idx=7", records[3]["error"], StringComparison.Ordinal);
        Assert.Equal("d", records[3]["name"]);
        scored.AssertCounts(6, 5, 1);

        // The same rows as one run fail as a whole: the results above came from re-running them one by one.
        using var lease = await models.AcquireAsync(BatchModels.Lookup);
        using var all = InputTensor.FromArray<long>("index", TensorDataType.Int64, [6, 1], [0, 1, 2, 7, 1, -3]);
        var e = Assert.Throws<InferenceException>(() => lease.Model.Run([all], null, CancellationToken.None));
        Assert.StartsWith(RunFailure, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ScoreAsync_OneRowFailsAtRunTimeInsideAMicroBatch_OnlyThatRowFailsInJsonl()
    {
        const string Input = """
            [0]
            {"index":[2]}
            {"index":[[7]]}
            [-1]
            {"inputs":[{"name":"index","shape":[2,1],"datatype":"INT64","data":[1,7]}]}
            {"inputs":[{"name":"index","shape":[2,1],"datatype":"INT64","data":[1,0]}]}
            [1]

            """;

        var scored = await Scored.RunAsync(models.Host, BatchModels.Lookup, Input, BatchFormat.Jsonl);

        var lines = scored.Json;
        Assert.Equal([10f], lines[0].GetProperty("outputs").GetProperty("value").EnumerateArray().Select(v => v.GetSingle()));
        Assert.Equal([30f], lines[1].GetProperty("outputs").GetProperty("value").EnumerateArray().Select(v => v.GetSingle()));
        Assert.StartsWith(RunFailure, lines[2].GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal([30f], lines[3].GetProperty("outputs").GetProperty("value").EnumerateArray().Select(v => v.GetSingle()));
        Assert.StartsWith(RunFailure, lines[4].GetProperty("error").GetString(), StringComparison.Ordinal);
        var response = Assert.Single(lines[5].GetProperty("response").GetProperty("outputs").EnumerateArray());
        Assert.Equal([20f, 10f], response.GetProperty("data").EnumerateArray().Select(v => v.GetSingle()));
        Assert.Equal([20f], lines[6].GetProperty("outputs").GetProperty("value").EnumerateArray().Select(v => v.GetSingle()));
        scored.AssertCounts(7, 5, 2);
    }

    [Fact]
    public async Task ScoreAsync_ThousandsOfRowsWithBadRowsAcrossMicroBatches_ResultsInOrderAndErrorsExactlyAtTheBadRows()
    {
        const int Rows = 5_000;
        var input = new StringBuilder("index,row\n");
        for (var row = 1; row <= Rows; row++)
        {
            // Every 97th row is bad: alternately refused by the model inside its micro-batch, or unparseable.
            var index = row % 97 != 0 ? (row % 3).ToString(CultureInfo.InvariantCulture) : row / 97 % 2 == 0 ? "7" : "seven";
            input.Append(CultureInfo.InvariantCulture, $"{index},{row}\n");
        }

        var scored = await Scored.RunAsync(
            models.Host, BatchModels.Lookup, input.ToString(), BatchFormat.Csv, new BatchOptions { MicroBatchSize = 64 });

        var records = scored.CsvRecords;
        Assert.Equal(Rows, records.Count);
        for (var i = 0; i < Rows; i++)
        {
            var row = i + 1;
            var record = records[i];
            Assert.Equal(row.ToString(CultureInfo.InvariantCulture), record["row"]);
            if (row % 97 != 0)
            {
                Assert.Equal("", record["error"]);
                Assert.Equal(BatchModels.LookupTable[row % 3].ToString(CultureInfo.InvariantCulture), record["value"]);
            }
            else if (row / 97 % 2 == 0)
            {
                Assert.StartsWith($"line {row + 1}: {RunFailure}", record["error"], StringComparison.Ordinal);
                Assert.Equal("", record["value"]);
            }
            else
            {
                Assert.Equal($"line {row + 1}: column 1 ('seven') is not a valid INT64 value", record["error"]);
            }
        }

        const int Bad = Rows / 97;
        scored.AssertCounts(Rows, Rows - Bad, Bad);
        Assert.Equal(64, scored.Summary.MicroBatchSize);
    }

    [Fact]
    public async Task ScoreAsync_ThousandsOfIrisRowsAcrossMicroBatches_EachMatchesADirectSingleRowRun()
    {
        const int Rows = 5_000;
        var features = new float[Rows][];
        var input = new StringBuilder();
        for (var i = 0; i < Rows; i++)
        {
            var line = i + 1;
            var baseCase = IrisExpected.Inputs[i % IrisExpected.Count];
            features[i] = [.. baseCase.Select((v, k) => v + (((i * (k + 3)) % 17) * 0.05f))];
            input.Append(line % 97 == 0 ? IrisExpected.Json(features[i][..3]) : IrisExpected.Json(features[i])).Append('\n');
        }

        var scored = await Scored.RunAsync(models.Host, BatchModels.Iris, input.ToString(), BatchFormat.Jsonl, new BatchOptions { MicroBatchSize = 64 });

        var lines = scored.Json;
        Assert.Equal(Rows, lines.Count);
        using var lease = await models.AcquireAsync(BatchModels.Iris);
        var labels = new HashSet<string>();
        for (var i = 0; i < Rows; i++)
        {
            var line = i + 1;
            Assert.Equal(line, lines[i].GetProperty("line").GetInt64());
            if (line % 97 == 0)
            {
                Assert.Equal("input 'Features' has 3 data elements but its shape needs 4", lines[i].GetProperty("error").GetString());
                continue;
            }

            var outputs = lines[i].GetProperty("outputs");
            var (scores, label) = IrisExpected.RunSingle(lease.Model, features[i]);
            IrisExpected.AssertScores(scores, outputs.GetProperty("Score.output").EnumerateArray().Select(v => v.GetSingle()));
            Assert.Equal(label, Assert.Single(outputs.GetProperty("PredictedLabel.output").EnumerateArray()).GetString());
            labels.Add(label);
        }

        Assert.Equal(3, labels.Count);
        scored.AssertCounts(Rows, Rows - (Rows / 97), Rows / 97);
    }

    [Theory]
    [InlineData(BatchModels.Iris, null, 1024)]
    [InlineData(BatchModels.Iris, 7, 7)]
    [InlineData(BatchModels.Iris, 0, 1)]
    [InlineData(BatchModels.Iris, 5000, 1024)]
    [InlineData(BatchModels.Add, 100, 8)]
    [InlineData(BatchModels.Fixed, null, 1)]
    [InlineData(BatchModels.Fixed, 64, 1)]
    [InlineData(BatchModels.Dynamic, null, 1)]
    public async Task MicroBatchSize_FollowsOptionsWithinTheModelsLimits(string model, int? requested, int expected)
    {
        using var lease = await models.AcquireAsync(model);

        Assert.Equal(expected, new BatchScorer(lease, new BatchOptions { MicroBatchSize = requested }).MicroBatchSize);
    }

    [Fact]
    public async Task ScoreAsync_MicroBatchSizeAboveTheModelsMaximum_RunsFullBatchesWithoutRowErrors()
    {
        const int Rows = 1500;
        var input = string.Concat(Enumerable.Range(0, Rows).Select(i => IrisExpected.Json(i % 3) + "\n"));

        var scored = await Scored.RunAsync(models.Host, BatchModels.Iris, input, BatchFormat.Jsonl, new BatchOptions { MicroBatchSize = 2000 });

        scored.AssertCounts(Rows, Rows, 0);
        Assert.Equal(1024, scored.Summary.MicroBatchSize);
        IrisExpected.AssertOutputs(1, scored.Json[1027].GetProperty("outputs"));
    }
}

using System.Globalization;
using System.Text;
using Serverless.Inference.Batch;
using Serverless.Inference.Tests.Batch.Support;
using Serverless.Inference.Tests.Support;

namespace Serverless.Inference.Tests.Batch;

public sealed class BatchScorerCsvTests(BatchModels models) : IClassFixture<BatchModels>
{
    private const string IrisOutputColumns = "Score.output[0],Score.output[1],Score.output[2],PredictedLabel.output,error";

    [Fact]
    public async Task ScoreAsync_IrisByManifestColumns_AppendsPredictionsToEveryRecord()
    {
        var rows = Enumerable.Range(0, 3).Select(i => $"id-{i},{IrisExpected.Csv(i)},note {i}").ToList();
        var input = $"id,{IrisExpected.Header},note\n" + string.Join('\n', rows) + "\n";

        var scored = await Scored.RunAsync(models.Host, BatchModels.Iris, input, BatchFormat.Csv);

        var lines = scored.Lines;
        Assert.Equal($"id,{IrisExpected.Header},note,{IrisOutputColumns}", lines[0]);
        Assert.Equal(4, lines.Count);
        var records = scored.CsvRecords;
        for (var i = 0; i < 3; i++)
        {
            Assert.StartsWith(rows[i] + ",", lines[i + 1], StringComparison.Ordinal);
            Assert.EndsWith(",", lines[i + 1], StringComparison.Ordinal);
            Assert.Equal($"id-{i}", records[i]["id"]);
            Assert.Equal($"note {i}", records[i]["note"]);
            IrisExpected.AssertScores(IrisExpected.Scores[i], Enumerable.Range(0, 3).Select(k => Parse(records[i][$"Score.output[{k}]"])));
            Assert.Equal(IrisExpected.Labels[i], records[i]["PredictedLabel.output"]);
            Assert.Equal("", records[i]["error"]);
        }

        scored.AssertCounts(3, 3, 0);
        Assert.Equal(BatchFormat.Csv, scored.Summary.Format);
    }

    [Fact]
    public async Task ScoreAsync_BlankLinesAndAStrayQuoteInAnUnquotedField_ScoresEveryRealRow()
    {
        var input = $"note,{IrisExpected.Header}\n\n12\" pipe,{IrisExpected.Csv(0)}\n\nplain,{IrisExpected.Csv(1)}\n\n";

        var scored = await Scored.RunAsync(models.Host, BatchModels.Iris, input, BatchFormat.Csv);

        // The input record is echoed as it came, stray quote included, so the lines are checked as text.
        var lines = scored.Lines;
        Assert.Equal(3, lines.Count);
        Assert.StartsWith($"12\" pipe,{IrisExpected.Csv(0)},", lines[1], StringComparison.Ordinal);
        Assert.EndsWith($",{IrisExpected.Labels[0]},", lines[1], StringComparison.Ordinal);
        Assert.StartsWith($"plain,{IrisExpected.Csv(1)},", lines[2], StringComparison.Ordinal);
        Assert.EndsWith($",{IrisExpected.Labels[1]},", lines[2], StringComparison.Ordinal);
        scored.AssertCounts(2, 2, 0);
    }

    [Fact]
    public async Task ScoreAsync_ColumnsInAnotherOrderAndPaddedHeader_MapsByName()
    {
        var f = IrisExpected.Inputs[1];
        var input = $" petal_width ,label, sepal_length,petal_length,sepal_width\n{f[3]},x,{f[0]},{f[2]},{f[1]}\n";

        var scored = await Scored.RunAsync(models.Host, BatchModels.Iris, input, BatchFormat.Csv);

        var record = Assert.Single(scored.CsvRecords);
        Assert.Equal(IrisExpected.Labels[1], record["PredictedLabel.output"]);
        IrisExpected.AssertScores(IrisExpected.Scores[1], Enumerable.Range(0, 3).Select(k => Parse(record[$"Score.output[{k}]"])));
        Assert.Equal("x", record["label"]);
    }

    [Fact]
    public async Task ScoreAsync_WideInputsWithoutManifestColumns_ReadNameIndexColumns()
    {
        const string Input = """
            b[2],a[0],a[1],a[2],b[0],b[1],id
            6,1,2,3,4,5,first
            0.5,-1,0,1,0.5,0.5,second

            """;

        var scored = await Scored.RunAsync(models.Host, BatchModels.Add, Input, BatchFormat.Csv);

        Assert.Equal(
            "b[2],a[0],a[1],a[2],b[0],b[1],id,sum[0],sum[1],sum[2],product[0],product[1],product[2],error",
            scored.Lines[0]);
        var records = scored.CsvRecords;
        Assert.Equal(["5", "7", "9", "4", "10", "18"], Columns(records[0], "sum", "product"));
        Assert.Equal(["-0.5", "0.5", "1.5", "-0.5", "0", "0.5"], Columns(records[1], "sum", "product"));
        Assert.Equal(["first", "second"], records.Select(r => r["id"]));
        scored.AssertCounts(2, 2, 0);
    }

    [Fact]
    public async Task ScoreAsync_WideInputMissingAnIndexColumn_ThrowsBadRequestNamingIt()
    {
        var e = await Assert.ThrowsAsync<InferenceException>(() =>
            Scored.RunAsync(models.Host, BatchModels.Add, "a[0],a[1],a[2],b[0],b[1]\n1,2,3,4,5\n", BatchFormat.Csv));

        Assert.Equal(InferenceErrorKind.BadRequest, e.Kind);
        Assert.Equal("the CSV header has no column(s) 'b[2]' for input 'b' (header: a[0], a[1], a[2], b[0], b[1])", e.Message);
    }

    [Fact]
    public async Task ScoreAsync_WrongColumnNames_ThrowsBadRequestNamingEveryMissingColumn()
    {
        var e = await Assert.ThrowsAsync<InferenceException>(() =>
            Scored.RunAsync(models.Host, BatchModels.Iris, "sepal_length,sepal_width,petal_len,petal_wid\n1,2,3,4\n", BatchFormat.Csv));

        Assert.Equal(InferenceErrorKind.BadRequest, e.Kind);
        Assert.Equal(
            "the CSV header has no column(s) 'petal_length', 'petal_width' for input 'Features' (header: sepal_length, sepal_width, petal_len, petal_wid)",
            e.Message);
    }

    [Fact]
    public async Task ScoreAsync_ManifestListingTooFewColumns_ThrowsBadRequest()
    {
        using var repository = new TempModelRepository().CopySample(BatchModels.Iris)
            .Manifest(BatchModels.Iris, """{ "max_batch_size": 8, "inputs": [ { "name": "Features", "columns": ["a", "b", "c"] } ] }""");
        using var host = new Serverless.Inference.Hosting.ModelHost(
            new Serverless.Inference.Repository.LocalFolderModelStore(repository.Root), new Serverless.Inference.Hosting.ModelHostOptions());

        var e = await Assert.ThrowsAsync<InferenceException>(() =>
            Scored.RunAsync(host, BatchModels.Iris, "a,b,c\n1,2,3\n", BatchFormat.Csv));

        Assert.Equal(InferenceErrorKind.BadRequest, e.Kind);
        Assert.Equal("model.json lists 3 columns for input 'Features', which takes 4 values per row", e.Message);
    }

    [Fact]
    public async Task ScoreAsync_OneValueInputs_ReadTheColumnOfTheirName()
    {
        const string Input = "name,index\nzero,0\ntwo,2\nlast,-1\n";

        var scored = await Scored.RunAsync(models.Host, BatchModels.Lookup, Input, BatchFormat.Csv);

        Assert.Equal(["name,index,value,error", "zero,0,10,", "two,2,30,", "last,-1,30,"], scored.Lines);
        scored.AssertCounts(3, 3, 0);
    }

    [Fact]
    public async Task ScoreAsync_QuotedFieldsWithCommasQuotesAndNewlines_ParsedAndWrittenBackQuoted()
    {
        const string Input = "id,x\n" +
            "1,\"hello, \"\"world\"\"\"\n" +
            "2,\"line one\nline two\"\n" +
            "3,plain\n" +
            "4\n" +
            "\"5\",\"\"\n";

        var scored = await Scored.RunAsync(models.Host, BatchModels.Strings, Input, BatchFormat.Csv);

        Assert.Equal(
            "id,x,y,error\n" +
            "1,\"hello, \"\"world\"\"\",\"hello, \"\"world\"\"\",\n" +
            "2,\"line one\nline two\",\"line one\nline two\",\n" +
            "3,plain,plain,\n" +
            "4,,,line 6: the row has 1 fields but the header has 2\n" +
            "\"5\",\"\",,\n",
            scored.Text);
        var records = scored.CsvRecords;
        Assert.Equal(["hello, \"world\"", "line one\nline two", "plain", "", ""], records.Select(r => r["y"]));
        scored.AssertCounts(5, 4, 1);
    }

    [Fact]
    public async Task ScoreAsync_QuotedNumbers_AreNumbers()
    {
        var f = IrisExpected.Inputs[2];
        var input = $"{IrisExpected.Header}\n\"{f[0]}\",\"{f[1]}\",\" {f[2]} \",{f[3]}\n";

        var scored = await Scored.RunAsync(models.Host, BatchModels.Iris, input, BatchFormat.Csv);

        Assert.Equal(IrisExpected.Labels[2], Assert.Single(scored.CsvRecords)["PredictedLabel.output"]);
        scored.AssertCounts(1, 1, 0);
    }

    [Fact]
    public async Task ScoreAsync_CrLfLineEndings_ScoresEveryRowAndWritesLf()
    {
        var input = $"id,{IrisExpected.Header}\r\n" + string.Concat(Enumerable.Range(0, 3).Select(i => $"{i},{IrisExpected.Csv(i)}\r\n"));

        var scored = await Scored.RunAsync(models.Host, BatchModels.Iris, input, BatchFormat.Csv);

        Assert.DoesNotContain("\r", scored.Text, StringComparison.Ordinal);
        Assert.Equal($"id,{IrisExpected.Header},{IrisOutputColumns}", scored.Lines[0]);
        var records = scored.CsvRecords;
        Assert.Equal(IrisExpected.Labels, records.Select(r => r["PredictedLabel.output"]));
        Assert.Equal(["0", "1", "2"], records.Select(r => r["id"]));
        Assert.Equal(IrisExpected.Inputs[2][3].ToString(CultureInfo.InvariantCulture), records[2]["petal_width"]);
        scored.AssertCounts(3, 3, 0);
    }

    [Fact]
    public async Task ScoreAsync_HeaderAfterAUtf8ByteOrderMark_MapsTheFirstColumn()
    {
        byte[] input = [0xef, 0xbb, 0xbf, .. Encoding.UTF8.GetBytes($"{IrisExpected.Header}\n{IrisExpected.Csv(2)}\n")];

        var scored = await Scored.RunAsync(models.Host, BatchModels.Iris, input, BatchFormat.Csv);

        Assert.Equal(IrisExpected.Labels[2], Assert.Single(scored.CsvRecords)["PredictedLabel.output"]);
    }

    [Fact]
    public async Task ScoreAsync_FixedBatchModel_RunsRowByRow()
    {
        const string Input = "x[0],x[1],x[2]\n1,2,3\n4,5,6\n7,8,9\n";

        var scored = await Scored.RunAsync(models.Host, BatchModels.Fixed, Input, BatchFormat.Csv, new BatchOptions { MicroBatchSize = 64 });

        Assert.Equal(["x[0],x[1],x[2],y[0],y[1],y[2],error", "1,2,3,1,2,3,", "4,5,6,4,5,6,", "7,8,9,7,8,9,"], scored.Lines);
        Assert.Equal(1, scored.Summary.MicroBatchSize);
        scored.AssertCounts(3, 3, 0);
    }

    private static float Parse(string text) => float.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);

    private static string[] Columns(IReadOnlyDictionary<string, string> record, params string[] outputs) =>
        [.. outputs.SelectMany(o => Enumerable.Range(0, 3).Select(i => record[$"{o}[{i}]"]))];
}

using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Serverless.Inference.Batch;
using Serverless.Inference.Tests.Batch.Support;

namespace Serverless.Inference.Tests.Batch;

/// <summary>Every kind of bad input: each is one row's error (or the file's), and every other row is still scored.</summary>
public sealed class BatchScorerBadInputTests(BatchModels models) : IClassFixture<BatchModels>
{
    [Theory]
    [InlineData(BatchFormat.Jsonl)]
    [InlineData(BatchFormat.Csv)]
    public async Task ScoreAsync_EmptyFile_ZeroRowsAndNoOutput(BatchFormat format)
    {
        var scored = await Scored.RunAsync(models.Host, BatchModels.Iris, [], format);

        Assert.Empty(scored.Output);
        scored.AssertCounts(0, 0, 0);
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n")]
    [InlineData("\r\n")]
    public async Task ScoreAsync_CsvOfOnlyAHeader_WritesTheResultHeaderAndZeroRows(string ending)
    {
        var scored = await Scored.RunAsync(models.Host, BatchModels.Iris, "id," + IrisExpected.Header + ending, BatchFormat.Csv);

        Assert.Equal(
            $"id,{IrisExpected.Header},Score.output[0],Score.output[1],Score.output[2],PredictedLabel.output,error\n",
            scored.Text);
        scored.AssertCounts(0, 0, 0);
    }

    [Fact]
    public async Task ScoreAsync_RaggedCsvRows_RowErrorsKeepTheHeaderWidthAndTheOtherRowsAreScored()
    {
        var input = $"id,{IrisExpected.Header}\n" +
            $"a,{IrisExpected.Csv(0)}\n" +
            "b,5.1,3.5,1.4\n" +
            $"c,{IrisExpected.Csv(1)}\n" +
            $"d,{IrisExpected.Csv(2)},extra,\"more, quoted\"\n" +
            $"e,{IrisExpected.Csv(2)}\n";

        var scored = await Scored.RunAsync(models.Host, BatchModels.Iris, input, BatchFormat.Csv);

        var records = scored.CsvRecords;
        Assert.Equal(["a", "b", "c", "d", "e"], records.Select(r => r["id"]));
        Assert.Equal(
            ["", "line 3: the row has 4 fields but the header has 5", "", "line 5: the row has 7 fields but the header has 5", ""],
            records.Select(r => r["error"]));
        Assert.Equal([IrisExpected.Labels[0], "", IrisExpected.Labels[1], "", IrisExpected.Labels[2]], records.Select(r => r["PredictedLabel.output"]));
        Assert.Equal(["5.1", "5.1", IrisExpected.Format(IrisExpected.Inputs[1][0]), "6.3", "6.3"], records.Select(r => r["sepal_length"]));
        scored.AssertCounts(5, 3, 2);
    }

    [Fact]
    public async Task ScoreAsync_LinesThatAreNotJson_AreRowErrors()
    {
        string[] bad = ["hello", """{"Features": [5.1,3.5,1.4,0.2]""", "[5.1,3.5,1.4,0.2]]", "{'Features': [5.1,3.5,1.4,0.2]}", "[5.1,3.5,1.4,0.2] [1]", "[5.1,3.5,1.4,0.2,]"];

        var scored = await ScoreInterleavedAsync(BatchModels.Iris, bad, IrisExpected.Json(0));

        AssertInterleaved(scored, bad.Length, (i, error) => Assert.StartsWith("not valid JSON: ", error, StringComparison.Ordinal), IrisOk);
    }

    [Fact]
    public async Task ScoreAsync_ValidJsonOfTheWrongShape_AreRowErrorsNamingTheProblem()
    {
        (string Line, string Error)[] cases =
        [
            ("[5.1,3.5,1.4]", "input 'Features' has 3 data elements but its shape needs 4"),
            ("[5.1,3.5,1.4,0.2,9]", "input 'Features' has more data elements than its shape's 4"),
            ("[]", "input 'Features' has 0 data elements but its shape needs 4"),
            ("""{"features":[5.1,3.5,1.4,0.2]}""", "missing input(s): Features"),
            ("{}", "missing input(s): Features"),
            ("5.1", "a line must be a JSON object or array, not a number"),
            ("\"5.1,3.5,1.4,0.2\"", "a line must be a JSON object or array, not a string"),
            ("null", "a line must be a JSON object or array, not null"),
            ("true", "a line must be a JSON object or array, not a boolean"),
            ("""{"Features":5.1}""", "input 'Features' has 1 data elements but its shape needs 4"),
            ("""{"Features":{"sepal_length":5.1}}""", "input 'Features' is FP32 but element 0 is an object (expected a number)"),
            ("""[[5.1,3.5],{"petal":[1.4,0.2]}]""", "input 'Features' is FP32 but element 2 is an object (expected a number)"),
            ("""{"Features":[5.1,3.5,1.4,1e39]}""", "input 'Features' element 3 (1e39) is not a valid FP32 value"),
        ];

        var scored = await ScoreInterleavedAsync(BatchModels.Iris, [.. cases.Select(c => c.Line)], IrisExpected.Json(1), "{\"Features\":" + IrisExpected.Json(1) + "}");

        AssertInterleaved(scored, cases.Length, (i, error) => Assert.Equal(cases[i].Error, error), (i, outputs) => IrisExpected.AssertOutputs(1, outputs));
    }

    [Fact]
    public async Task ScoreAsync_StringsWhereNumbersBelong_AreRowErrorsInJsonl()
    {
        (string Line, string Error)[] cases =
        [
            ("""{"Features":["5.1",3.5,1.4,0.2]}""", "input 'Features' is FP32 but element 0 is a string (expected a number)"),
            ("[5.1,3.5,true,0.2]", "input 'Features' is FP32 but element 2 is a boolean (expected a number)"),
            ("[5.1,null,1.4,0.2]", "input 'Features' is FP32 but element 1 is null (expected a number)"),
        ];

        var scored = await ScoreInterleavedAsync(BatchModels.Iris, [.. cases.Select(c => c.Line)], IrisExpected.Json(0));

        AssertInterleaved(scored, cases.Length, (i, error) => Assert.Equal(cases[i].Error, error), IrisOk);
    }

    [Fact]
    public async Task ScoreAsync_TextWhereNumbersBelong_AreRowErrorsInCsv()
    {
        var input = $"id,{IrisExpected.Header}\n" +
            $"1,{IrisExpected.Csv(0)}\n" +
            "2,5.1,abc,1.4,0.2\n" +
            "3,5.1,3.5,,0.2\n" +
            "4,5.1,3.5,1.4,NaN\n" +
            $"5,{IrisExpected.Csv(0)}\n";

        var scored = await Scored.RunAsync(models.Host, BatchModels.Iris, input, BatchFormat.Csv);

        var records = scored.CsvRecords;
        Assert.Equal(
            [
                "",
                "line 3: column 3 ('abc') is not a valid FP32 value",
                "line 4: column 4 is empty but input needs a FP32 value",
                "line 5: column 5 ('NaN') is not a valid FP32 value",
                "",
            ],
            records.Select(r => r["error"]));
        Assert.Equal([IrisExpected.Labels[0], "", "", "", IrisExpected.Labels[0]], records.Select(r => r["PredictedLabel.output"]));
        scored.AssertCounts(5, 2, 3);
    }

    [Fact]
    public async Task ScoreAsync_DecimalsWhereIntegersBelong_AreRowErrorsInCsv()
    {
        var scored = await Scored.RunAsync(models.Host, BatchModels.Lookup, "name,index\na,1\nb,1.5\nc,99999999999999999999\nd,2\n", BatchFormat.Csv);

        Assert.Equal(
            [
                "name,index,value,error",
                "a,1,20,",
                "b,1.5,,line 3: column 2 ('1.5') is not a valid INT64 value",
                "c,99999999999999999999,,line 4: column 2 ('99999999999999999999') is not a valid INT64 value",
                "d,2,30,",
            ],
            scored.Lines);
        scored.AssertCounts(4, 2, 2);
    }

    [Fact]
    public async Task ScoreAsync_NumbersWhereStringsBelong_AreRowErrorsForABytesModel()
    {
        (string Line, string Error)[] cases =
        [
            ("[42]", "input 'x' is BYTES but element 0 is a number (BYTES elements are strings)"),
            ("""{"x":4.5}""", "input 'x' is BYTES but element 0 is a number (BYTES elements are strings)"),
            ("""{"x":true}""", "input 'x' is BYTES but element 0 is a boolean (BYTES elements are strings)"),
            ("""{"x":null}""", "input 'x' is BYTES but element 0 is null (BYTES elements are strings)"),
            ("""{"x":["a","b"]}""", "input 'x' has more data elements than its shape's 1"),
        ];

        var scored = await ScoreInterleavedAsync(BatchModels.Strings, [.. cases.Select(c => c.Line)], """["ok"]""");

        AssertInterleaved(
            scored,
            cases.Length,
            (i, error) => Assert.Equal(cases[i].Error, error),
            (i, outputs) => Assert.Equal("ok", Assert.Single(outputs.GetProperty("y").EnumerateArray()).GetString()));
    }

    [Fact]
    public async Task ScoreAsync_InvalidUtf8InAJsonlLine_IsARowError()
    {
        byte[] input =
        [
            .. """["first"]"""u8, (byte)'\n',
            .. """["bad """u8, 0xff, 0xfe, .. """ string"]"""u8, (byte)'\n',
            .. """["second"]"""u8, (byte)'\n',
            .. "["u8, 0xc3, .. "]"u8, (byte)'\n',
            .. """["third"]"""u8, (byte)'\n',
        ];

        var scored = await Scored.RunAsync(models.Host, BatchModels.Strings, input, BatchFormat.Jsonl);

        Assert.True(Utf8.IsValid(scored.Output));
        var lines = scored.Json;
        Assert.Equal([1L, 2, 3, 4, 5], lines.Select(l => l.GetProperty("line").GetInt64()));
        Assert.Equal(
            ["first", null, "second", null, "third"],
            lines.Select(l => l.TryGetProperty("outputs", out var o) ? Assert.Single(o.GetProperty("y").EnumerateArray()).GetString() : null));
        Assert.Equal("the line is not valid UTF-8", lines[1].GetProperty("error").GetString());
        Assert.Equal("the line is not valid UTF-8", lines[3].GetProperty("error").GetString());
        scored.AssertCounts(5, 3, 2);
    }

    [Fact]
    public async Task ScoreAsync_InvalidUtf8InACsvRow_IsARowErrorAndTheOutputStaysUtf8()
    {
        byte[] input = [.. "id,x\n1,first\n2,ab"u8, 0xff, .. "cd\n3,third\n"u8];

        var scored = await Scored.RunAsync(models.Host, BatchModels.Strings, input, BatchFormat.Csv);

        Assert.True(Utf8.IsValid(scored.Output));
        Assert.Equal(["id,x,y,error", "1,first,first,", ",,,line 3: the row is not valid UTF-8", "3,third,third,"], scored.Lines);
        scored.AssertCounts(3, 2, 1);
    }

    [Fact]
    public async Task ScoreAsync_InvalidUtf8InTheCsvHeader_ThrowsBadRequest()
    {
        byte[] input = [.. "id,"u8, 0xff, .. "\n1,2\n"u8];

        var e = await Assert.ThrowsAsync<InferenceException>(() => Scored.RunAsync(models.Host, BatchModels.Strings, input, BatchFormat.Csv));

        Assert.Equal(InferenceErrorKind.BadRequest, e.Kind);
        Assert.Equal("the CSV header is not valid UTF-8", e.Message);
    }

    [Fact]
    public async Task ScoreAsync_CsvHeaderOverTheRecordLimit_ThrowsBadRequest()
    {
        var input = string.Join(',', Enumerable.Range(0, 100).Select(i => $"column_{i}")) + ",x\n1\n";

        var e = await Assert.ThrowsAsync<InferenceException>(() =>
            Scored.RunAsync(models.Host, BatchModels.Strings, input, BatchFormat.Csv, new BatchOptions { MaxRecordBytes = 256 }));

        Assert.Equal(InferenceErrorKind.BadRequest, e.Kind);
        Assert.Equal("the CSV header: record is longer than 256 bytes", e.Message);
    }

    [Fact]
    public async Task ScoreAsync_CsvRowOverTheRecordLimit_IsARowErrorPaddedToTheHeaderWidth()
    {
        var input = $"id,x\n1,first\n2,{new string('z', 300)}\n3,third\n";

        var scored = await Scored.RunAsync(models.Host, BatchModels.Strings, input, BatchFormat.Csv, new BatchOptions { MaxRecordBytes = 256 });

        Assert.Equal(["id,x,y,error", "1,first,first,", ",,,line 3: record is longer than 256 bytes", "3,third,third,"], scored.Lines);
        scored.AssertCounts(3, 2, 1);
    }

    [Fact]
    public async Task ScoreAsync_FileOfOnlyErrors_OneErrorLinePerInputLineInOrder()
    {
        const int Lines = 10_000;
        var input = string.Concat(Enumerable.Range(0, Lines).Select(i => $"[{i}]\n"));

        var scored = await Scored.RunAsync(models.Host, BatchModels.Iris, input, BatchFormat.Jsonl, new BatchOptions { MicroBatchSize = 16 });

        var lines = scored.Json;
        Assert.Equal(Lines, lines.Count);
        Assert.Equal(Enumerable.Range(1, Lines).Select(i => (long)i), lines.Select(l => l.GetProperty("line").GetInt64()));
        Assert.All(lines, l => Assert.Equal("input 'Features' has 1 data elements but its shape needs 4", l.GetProperty("error").GetString()));
        scored.AssertCounts(Lines, 0, Lines);
    }

    private static void IrisOk(int i, JsonElement outputs) => IrisExpected.AssertOutputs(0, outputs);

    /// <summary>good, bad[0], good, bad[1], ..., good: each bad line between two good ones.</summary>
    private Task<Scored> ScoreInterleavedAsync(string model, string[] bad, params string[] good)
    {
        var lines = new List<string>();
        for (var i = 0; i < bad.Length; i++)
        {
            lines.Add(good[i % good.Length]);
            lines.Add(bad[i]);
        }

        lines.Add(good[0]);
        return Scored.RunAsync(models.Host, model, Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n"), BatchFormat.Jsonl);
    }

    private static void AssertInterleaved(Scored scored, int bad, Action<int, string> assertError, Action<int, JsonElement> assertGood)
    {
        var lines = scored.Json;
        Assert.Equal((2 * bad) + 1, lines.Count);
        for (var i = 0; i < lines.Count; i++)
        {
            Assert.Equal(i + 1, lines[i].GetProperty("line").GetInt64());
            if (i % 2 == 0)
            {
                Assert.True(lines[i].TryGetProperty("outputs", out var outputs), $"line {i + 1}: {lines[i]}");
                assertGood(i / 2, outputs);
            }
            else
            {
                Assert.True(lines[i].TryGetProperty("error", out var error), $"line {i + 1}: {lines[i]}");
                assertError(i / 2, error.GetString()!);
            }
        }

        scored.AssertCounts((2 * bad) + 1, bad + 1, bad);
    }
}

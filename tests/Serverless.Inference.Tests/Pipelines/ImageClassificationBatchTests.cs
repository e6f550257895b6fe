using Serverless.Inference.Batch;
using Serverless.Inference.Tests.Batch.Support;
using Serverless.Inference.Tests.Pipelines.ImageSupport;

namespace Serverless.Inference.Tests.Pipelines;

/// <summary>Batch files through an image pipeline: base64 images in JSON lines and CSV, a bad one failing alone.</summary>
public sealed class ImageClassificationBatchTests(ImageModels models) : IClassFixture<ImageModels>
{
    private static readonly string Red = Convert.ToBase64String(TestImages.Solid(4, 4, 255, 0, 0));
    private static readonly string Green = Convert.ToBase64String(TestImages.Solid(6, 2, 0, 255, 0));
    private static readonly string Blue = "data:image/png;base64," + Convert.ToBase64String(TestImages.Solid(4, 4, 0, 0, 255));

    [Fact]
    public async Task ScoreAsync_JsonLinesOfBase64Images_ScoresEachRowAndFailsTheBadOneAlone()
    {
        var input = string.Join('\n',
            $$"""{"image":"{{Red}}"}""",
            """{"image":"this is not an image"}""",
            $$"""{"image":"{{Blue}}"}""",
            $$"""{"inputs":[{"name":"image","datatype":"BYTES","shape":[2],"data":["{{Green}}","{{Red}}"]}],"outputs":[{"name":"label"}]}""") + "\n";

        var scored = await Scored.RunAsync(models.Server.Host, ImageModels.Colours, input, BatchFormat.Jsonl);

        scored.AssertCounts(rowsIn: 4, rowsOk: 3, rowsFailed: 1);
        var lines = scored.Json;
        Assert.Equal([1L, 2, 3, 4], lines.Select(l => l.GetProperty("line").GetInt64()));
        Assert.Equal(["red"], lines[0].GetProperty("outputs").GetProperty("label").EnumerateArray().Select(l => l.GetString()));
        Assert.Equal(["red", "green"], lines[0].GetProperty("outputs").GetProperty("top_labels").EnumerateArray().Select(l => l.GetString()));
        Assert.Equal(0.5761169, lines[0].GetProperty("outputs").GetProperty("top_scores")[0].GetDouble(), 5);
        Assert.StartsWith("element 0 is not an image ImageSharp can read:", lines[1].GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(["blue"], lines[2].GetProperty("outputs").GetProperty("label").EnumerateArray().Select(l => l.GetString()));
        var response = lines[3].GetProperty("response").GetProperty("outputs")[0];
        Assert.Equal(["green", "red"], response.GetProperty("data").EnumerateArray().Select(l => l.GetString()));
    }

    [Fact]
    public async Task ScoreAsync_RowsOverThePixelBudgetTogether_AreScoredRowByRow()
    {
        // One micro-batch of 8 rows of 20 x 20, each at the model's 400-pixel limit: 3200 pixels together, over the
        // 1000 a request may decode. The micro-batch is refused whole; each row, within the budget alone, is scored.
        var red = Convert.ToBase64String(TestImages.Solid(20, 20, 255, 0, 0));
        var blue = Convert.ToBase64String(TestImages.Solid(20, 20, 0, 0, 255));
        var input = "id,image\n" + string.Concat(Enumerable.Range(1, 8).Select(i => $"{i},{(i % 2 == 0 ? blue : red)}\n"));

        var scored = await Scored.RunAsync(models.Server.Host, ImageModels.SmallBudget, input, BatchFormat.Csv);

        scored.AssertCounts(rowsIn: 8, rowsOk: 8, rowsFailed: 0);
        Assert.Equal(["red", "blue", "red", "blue", "red", "blue", "red", "blue"], scored.CsvRecords.Select(r => r["label"]));
    }

    [Fact]
    public async Task ScoreAsync_RequestRowOverThePixelBudget_FailsThatRowAlone()
    {
        var red = Convert.ToBase64String(TestImages.Solid(20, 20, 255, 0, 0));
        var input = string.Join('\n',
            $$"""{"image":"{{red}}"}""",
            $$"""{"inputs":[{"name":"image","datatype":"BYTES","shape":[3],"data":["{{red}}","{{red}}","{{red}}"]}]}""",
            $$"""{"inputs":[{"name":"image","datatype":"BYTES","shape":[2],"data":["{{red}}","{{red}}"]}]}""") + "\n";

        var scored = await Scored.RunAsync(models.Server.Host, ImageModels.SmallBudget, input, BatchFormat.Jsonl);

        scored.AssertCounts(rowsIn: 3, rowsOk: 2, rowsFailed: 1);
        var lines = scored.Json;
        Assert.Equal(["red"], lines[0].GetProperty("outputs").GetProperty("label").EnumerateArray().Select(l => l.GetString()));
        Assert.Equal(
            "the 3 image(s) of this request declare 1200 pixels in all: more than the 1000 pixels this model decodes for one request; send fewer or smaller images at a time",
            lines[1].GetProperty("error").GetString());
        Assert.Equal(2, lines[2].GetProperty("response").GetProperty("outputs")[0].GetProperty("data").GetArrayLength());
    }

    [Fact]
    public async Task ScoreAsync_TruncatedImageRow_FailsAlone()
    {
        var png = TestImages.Solid(4, 4, 0, 255, 0);
        var input = $"id,image\n1,{Red}\n2,{Convert.ToBase64String(png[..^12])}\n3,{Convert.ToBase64String(png)}\n";

        var scored = await Scored.RunAsync(models.Server.Host, ImageModels.Colours, input, BatchFormat.Csv);

        scored.AssertCounts(rowsIn: 3, rowsOk: 2, rowsFailed: 1);
        Assert.Equal(["red", "", "green"], scored.CsvRecords.Select(r => r["label"]));
        Assert.Equal($"line 3: element 0 is truncated: the PNG ends at byte {png.Length - 12}, before its IEND chunk", scored.CsvRecords[1]["error"]);
    }

    [Fact]
    public async Task ScoreAsync_CsvColumnOfBase64Images_ScoresEachRowAndFailsTheBadOneAlone()
    {
        var input = $"id,image\n1,{Red}\n2,???\n3,{Green}\n";

        var scored = await Scored.RunAsync(models.Server.Host, ImageModels.Colours, input, BatchFormat.Csv);

        scored.AssertCounts(rowsIn: 3, rowsOk: 2, rowsFailed: 1);
        var rows = scored.CsvRecords;
        Assert.Equal(["1", "2", "3"], rows.Select(r => r["id"]));
        Assert.Equal(["red", "", "green"], rows.Select(r => r["label"]));
        Assert.Equal(["green", "", "red"], rows.Select(r => r["top_labels[1]"]));
        Assert.Equal("", rows[0]["error"]);
        Assert.Contains("element 0 is not an image ImageSharp can read:", rows[1]["error"], StringComparison.Ordinal);
    }
}

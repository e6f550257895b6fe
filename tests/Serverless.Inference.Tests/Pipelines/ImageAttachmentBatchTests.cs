using System.Text;
using System.Text.Json;
using Serverless.Inference.Batch;
using Serverless.Inference.Tests.Batch.Support;
using Serverless.Inference.Tests.Pipelines.ImageSupport;

namespace Serverless.Inference.Tests.Pipelines;

/// <summary>
/// Batch files that name their images by key (<c>image_key</c>) rather than carrying them: the images are read from
/// the store the file came from, each key checked and each object bounded, and a bad key fails its row alone.
/// </summary>
public sealed class ImageAttachmentBatchTests(ImageModels models) : IClassFixture<ImageModels>, IDisposable
{
    private readonly TempDropFolder _drop = new();

    [Fact]
    public async Task ProcessAsync_CsvOfImageKeys_ReadsEachImageFromTheSameStore()
    {
        _drop.Put("images/red.png", TestImages.Solid(4, 4, 255, 0, 0));
        _drop.Put("images/green.png", TestImages.Solid(6, 2, 0, 255, 0));
        _drop.Put("outgoing/colours/stolen.png", TestImages.Solid(4, 4, 0, 0, 255));
        _drop.Put("capture/colours/1/2026/12/01/10/a-00000001.jsonl", TestImages.Solid(4, 4, 0, 0, 255));
        _drop.Put("images/not-an-image.png", "plain text"u8.ToArray());
        var key = _drop.Put($"incoming/{ImageModels.Colours}/photos.csv", string.Join('\n',
            "id,image_key",
            "1,images/red.png",
            "2,images/missing.png",
            "3,../secrets/red.png",
            "4,outgoing/colours/stolen.png",
            "5,images/not-an-image.png",
            "6,images/green.png",
            "7,capture/colours/1/2026/12/01/10/a-00000001.jsonl",
            ""));

        var outcome = await Runner().ProcessAsync(key, CancellationToken.None);

        Assert.Equal(BatchOutcomeKind.Scored, outcome.Kind);
        Assert.Equal((7L, 2L, 5L), (outcome.Summary!.RowsIn, outcome.Summary.RowsOk, outcome.Summary.RowsFailed));
        var rows = new Scored(_drop.Read(outcome.ResultsKey!), outcome.Summary).CsvRecords;
        Assert.Equal(["1", "2", "3", "4", "5", "6", "7"], rows.Select(r => r["id"]));
        Assert.Equal(["red", "", "", "", "", "green", ""], rows.Select(r => r["label"]));
        Assert.Contains("image_key: 'images/missing.png' does not exist", rows[1]["error"], StringComparison.Ordinal);
        Assert.Contains("image_key: '../secrets/red.png' is not a valid key", rows[2]["error"], StringComparison.Ordinal);
        Assert.Contains("image_key: 'outgoing/colours/stolen.png' is not a valid key", rows[3]["error"], StringComparison.Ordinal);
        Assert.Contains("element 0 is not an image ImageSharp can read", rows[4]["error"], StringComparison.Ordinal);
        Assert.Contains("image_key: 'capture/colours/1/2026/12/01/10/a-00000001.jsonl' is not a valid key", rows[6]["error"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProcessAsync_JsonLinesOfImageKeys_ReadsEachImageAndMixesWithInlineImages()
    {
        _drop.Put("images/blue.png", TestImages.Solid(4, 4, 0, 0, 255));
        var red = Convert.ToBase64String(TestImages.Solid(4, 4, 255, 0, 0));
        var key = _drop.Put($"incoming/{ImageModels.Colours}/photos.jsonl", string.Join('\n',
            """{"image_key": "images/blue.png"}""",
            $$"""{"image": "{{red}}"}""",
            """{"image_key": 42}""",
            """{"image_key": "images/blue.png", "image": "x"}""",
            ""));

        var outcome = await Runner().ProcessAsync(key, CancellationToken.None);

        var lines = new Scored(_drop.Read(outcome.ResultsKey!), outcome.Summary!).Json;
        Assert.Equal(["blue"], Labels(lines[0]));
        Assert.Equal(["red"], Labels(lines[1]));
        Assert.Contains("element 0 is a number", lines[2].GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal("input 'image' is given twice", lines[3].GetProperty("error").GetString());
    }

    [Fact]
    public async Task ScoreAsync_ObjectOverTheAttachmentLimit_RowErrorWithoutReadingIt()
    {
        _drop.Put("images/big.png", TestImages.Solid(64, 64, 255, 0, 0));
        _drop.Put("images/small.png", TestImages.Solid(4, 4, 255, 0, 0));
        var options = new BatchOptions { Attachments = new StoreAttachments(_drop.Store, maxBytes: 120) };

        var scored = await Scored.RunAsync(models.Server.Host, ImageModels.Colours, "image_key\nimages/big.png\nimages/small.png\n", BatchFormat.Csv, options);

        scored.AssertCounts(rowsIn: 2, rowsOk: 1, rowsFailed: 1);
        Assert.Matches("image_key: 'images/big.png' is [0-9]+ bytes, over the 120-byte limit for one attachment", scored.CsvRecords[0]["error"]);
        Assert.Equal("red", scored.CsvRecords[1]["label"]);
    }

    [Fact]
    public async Task ScoreAsync_KeysWithoutAnAttachmentReader_RowErrorsNotAGuess()
    {
        var scored = await Scored.RunAsync(models.Server.Host, ImageModels.Colours, "image_key\nimages/red.png\n", BatchFormat.Csv);

        scored.AssertCounts(rowsIn: 1, rowsOk: 0, rowsFailed: 1);
        Assert.Contains("rows name objects by key, but nothing to read them from was configured", scored.CsvRecords[0]["error"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task ScoreAsync_ManyAttachments_RunsTheMicroBatchEarlyOnceTheirBytesReachTheLimit()
    {
        for (var i = 0; i < 6; i++)
        {
            _drop.Put($"images/{i}.png", TestImages.Solid(4, 4, 0, 255, 0));
        }

        var size = _drop.Read("images/0.png").Length;
        var options = new BatchOptions { Attachments = new StoreAttachments(_drop.Store, 1 << 20), MaxAttachmentBytesPerBatch = 2 * size };
        var progress = new List<BatchProgress>();

        var scored = await Scored.RunAsync(
            models.Server.Host, ImageModels.Colours, Encoding.UTF8.GetBytes("image_key\n" + string.Join('\n', Enumerable.Range(0, 6).Select(i => $"images/{i}.png")) + "\n"),
            BatchFormat.Csv, options, new SynchronousProgress<BatchProgress>(progress.Add));

        scored.AssertCounts(rowsIn: 6, rowsOk: 6, rowsFailed: 0);
        // Two images a micro-batch: three flushes before the last (empty) one, not one flush of six.
        Assert.Equal([2L, 4, 6], progress.Select(p => p.Rows).Distinct());
    }

    public void Dispose() => _drop.Dispose();

    private BatchJobRunner Runner() => new(_drop.Store, models.Server.Host, new BatchRunnerOptions { WorkDirectory = _drop.WorkDirectory });

    private static IEnumerable<string?> Labels(JsonElement line) =>
        line.GetProperty("outputs").GetProperty("label").EnumerateArray().Select(l => l.GetString());

    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}

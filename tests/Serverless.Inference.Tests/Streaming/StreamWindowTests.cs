using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Serverless.Inference.Streaming;
using Serverless.Inference.Tests.Batch.Support;
using Serverless.Inference.Tests.Streaming.Support;

namespace Serverless.Inference.Tests.Streaming;

/// <summary>
/// Windows on identity models, so the output is exactly the input the window built: readings [k, k + 0.5] of a key,
/// oldest first, stacked into [3, 2] or concatenated into [6].
/// </summary>
public sealed class StreamWindowTests(StreamModels models) : IClassFixture<StreamModels>, IDisposable
{
    private readonly TempDropFolder _folder = new();

    [Fact]
    public async Task StackedWindow_LastThreeReadingsOfTheKeyOldestFirst_OneKeyDoesNotSeeAnother()
    {
        var outcome = await Processor().ProcessAsync(new StreamBatch(StreamModels.WindowStacked, null, "s",
        [
            Reading("a", 1), Reading("a", 2), Reading("b", 3), Reading("a", 4), Reading("a", 5), Reading("b", 6), Reading("b", 7),
        ]), CancellationToken.None);

        Assert.Equal(new StreamOutcome(7, 7, 0, 0, 0, null, null), outcome);
        var lines = Predictions.Lines(_folder, StreamModels.WindowStacked);
        Assert.Equal(
            ["window filling: 1 of 3 readings", "window filling: 2 of 3 readings", "window filling: 1 of 3 readings", null, null, "window filling: 2 of 3 readings", null],
            lines.Select(l => l.TryGetProperty("skipped", out var why) ? why.GetString() : null));
        Assert.Equal(Window(1, 2, 4), Outputs(lines[3]));
        Assert.Equal(Window(2, 4, 5), Outputs(lines[4]));
        Assert.Equal(Window(3, 6, 7), Outputs(lines[6]));
    }

    [Fact]
    public async Task ConcatenatedWindow_CarriesAcrossRunsBatchesAndProcessors()
    {
        // Runs of four records: the window crosses a run, then a batch handled by a new processor.
        await Processor().ProcessAsync(new StreamBatch(StreamModels.WindowFlat, null, "s", [.. Enumerable.Range(1, 5).Select(p => Reading("a", p))]), CancellationToken.None);
        var outcome = await Processor().ProcessAsync(new StreamBatch(StreamModels.WindowFlat, null, "s", [Reading("a", 6)]), CancellationToken.None);

        Assert.Equal(new StreamOutcome(1, 1, 0, 0, 0, null, null), outcome);
        var lines = Predictions.Lines(_folder, StreamModels.WindowFlat).OrderBy(l => int.Parse(l.GetProperty("position").GetString()!, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(6, lines.Count);
        Assert.Equal([Window(1, 2, 3), Window(2, 3, 4), Window(3, 4, 5), Window(4, 5, 6)], lines.Skip(2).Select(Outputs));
    }

    [Fact]
    public async Task BadOrLateReading_IsItsOwnResultAndLeavesTheWindowAlone()
    {
        var outcome = await Processor().ProcessAsync(new StreamBatch(StreamModels.WindowStacked, null, "s",
        [
            Reading("a", 1), Reading("a", 2), Records.Of("a", 3, "[1, 2, 3]"), Records.Of("a", 4, "{\"x\": [\"one\", 2]}"), Reading("a", 0), Reading("a", 5),
        ]), CancellationToken.None);

        Assert.Equal(new StreamOutcome(6, 6, 2, 0, 0, null, null), outcome);
        var lines = Predictions.Lines(_folder, StreamModels.WindowStacked);
        Assert.Contains("more data elements than its shape's 2", lines[2].GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Contains("expected a number", lines[3].GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal("out of order: a window takes its key's readings in order", lines[4].GetProperty("skipped").GetString());
        Assert.True(lines[4].GetProperty("out_of_order").GetBoolean());
        Assert.Equal(Window(1, 2, 5), Outputs(lines[5]));
    }

    public void Dispose() => _folder.Dispose();

    /// <summary>A reading [p, p + 0.5] at position p, as the record object the model's input names.</summary>
    private static StreamRecord Reading(string key, int position) =>
        Records.Of(key, position, FormattableString.Invariant($$"""{"x": [{{position}}, {{position + 0.5}}]}"""));

    private static float[] Window(params int[] positions) => [.. positions.SelectMany(p => new[] { p, p + 0.5f })];

    private static float[] Outputs(JsonElement line) => [.. line.GetProperty("outputs").GetProperty("y").EnumerateArray().Select(v => v.GetSingle())];

    private StreamProcessor Processor() =>
        new(models.Host, _folder.Store, new RecordingAlertSink(), NullLogger<StreamProcessor>.Instance);
}

using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;
using Serverless.Infer.Cli;

namespace Serverless.Inference.Tests.Cli;

/// <summary>The pieces of <c>infer stream</c> under its pipe: lines with a size bound, record fields, batches with a latency bound.</summary>
public sealed class StreamInputTests
{
    [Fact]
    public async Task LineReader_SplitsLines_DropsCarriageReturns_KeepsALastLineWithoutNewline()
    {
        var lines = await ReadAllAsync("a\r\nbb\n\nccc", maxLineBytes: 100);

        Assert.Equal([(1L, "a", null), (2L, "bb", null), (3L, "", null), (4L, "ccc", null)], lines);
    }

    [Fact]
    public async Task LineReader_LineOverTheBound_IsThatLinesError_TheNextReadsWhole()
    {
        var lines = await ReadAllAsync("ok\n" + new string('x', 5000) + "\nafter\n", maxLineBytes: 64);

        Assert.Equal(3, lines.Count);
        Assert.Equal((1L, "ok", (string?)null), lines[0]);
        Assert.Equal(2L, lines[1].Number);
        Assert.Equal("the line is longer than 64 bytes", lines[1].Error);
        Assert.Equal((3L, "after", (string?)null), lines[2]);
    }

    [Theory]
    [InlineData("""{"key":"pump-01","timestamp":"2026-12-01T10:00:00Z","temperature":1}""", "pump-01", "2026-12-01T10:00:00+00:00")]
    [InlineData("""{"temperature":1,"nested":{"key":"no"},"key":42}""", "42", null)]
    [InlineData("""{"temperature":1,"timestamp":"yesterday"}""", "", null)]
    [InlineData("not json", "", null)]
    [InlineData("""{"key":"pump-01", broken""", "pump-01", null)]
    public void RecordFields_ReadsTopLevelKeyAndTimestamp_ArrivalTimeOtherwise(string line, string key, string? timestamp)
    {
        var arrived = new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

        var fields = new RecordFields("key", "timestamp").Read(Encoding.UTF8.GetBytes(line), arrived);

        Assert.Equal(key, fields.Key);
        Assert.Equal(timestamp is null ? arrived : DateTimeOffset.Parse(timestamp, System.Globalization.CultureInfo.InvariantCulture), fields.Timestamp);
    }

    [Fact]
    public async Task LatencyBatcher_FullBatch_GoesAtOnce()
    {
        var time = new FakeTimeProvider();
        var channel = Channel.CreateUnbounded<Arrival<int>>();
        var batcher = new LatencyBatcher<int>(channel.Reader, 3, TimeSpan.FromSeconds(1), time);
        for (var i = 0; i < 4; i++)
        {
            channel.Writer.TryWrite(new Arrival<int>(i, time.GetTimestamp()));
        }

        Assert.Equal([0, 1, 2], await batcher.NextAsync());
    }

    [Fact]
    public async Task LatencyBatcher_PartBatch_WaitsForItsFirstRecordsBound_ThenGoesWithWhatCame()
    {
        var time = new FakeTimeProvider();
        var channel = Channel.CreateUnbounded<Arrival<int>>();
        var batcher = new LatencyBatcher<int>(channel.Reader, 10, TimeSpan.FromMilliseconds(50), time);
        channel.Writer.TryWrite(new Arrival<int>(1, time.GetTimestamp()));

        var next = batcher.NextAsync().AsTask();
        time.Advance(TimeSpan.FromMilliseconds(30));
        channel.Writer.TryWrite(new Arrival<int>(2, time.GetTimestamp()));
        await Task.Delay(50);
        Assert.False(next.IsCompleted);

        time.Advance(TimeSpan.FromMilliseconds(20));

        Assert.Equal([1, 2], await next.WaitAsync(TimeSpan.FromMinutes(1)));
    }

    [Fact]
    public async Task LatencyBatcher_CompletedChannel_GivesWhatIsLeftThenNull()
    {
        var time = new FakeTimeProvider();
        var channel = Channel.CreateUnbounded<Arrival<int>>();
        var batcher = new LatencyBatcher<int>(channel.Reader, 10, TimeSpan.FromHours(1), time);
        channel.Writer.TryWrite(new Arrival<int>(1, time.GetTimestamp()));
        channel.Writer.Complete();

        Assert.Equal([1], await batcher.NextAsync().AsTask().WaitAsync(TimeSpan.FromMinutes(1)));
        Assert.Null(await batcher.NextAsync());
    }

    private static async Task<List<(long Number, string Text, string? Error)>> ReadAllAsync(string text, int maxLineBytes)
    {
        // One byte per read, so lines and the bound are met across many small reads, as from a pipe.
        await using var reader = new LineReader(new TrickleStream(Encoding.UTF8.GetBytes(text)), maxLineBytes);
        var lines = new List<(long, string, string?)>();
        while (await reader.ReadAsync(CancellationToken.None) is { } line)
        {
            lines.Add((line.Number, Encoding.UTF8.GetString(line.Bytes), line.Error));
        }

        return lines;
    }

    /// <summary>A stream that hands out a few bytes per read.</summary>
    private sealed class TrickleStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, 7)], cancellationToken);
    }
}

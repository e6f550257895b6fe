using System.Text;
using Serverless.Inference.Batch;
using Serverless.Inference.Tests.Batch.Support;

namespace Serverless.Inference.Tests.Batch;

public sealed class RecordReaderTests
{
    [Fact]
    public async Task ReadAsync_LfCrLfAndNoFinalNewline_OneRecordPerLineWithoutLineEndings()
    {
        var records = await ReadAllAsync("one\r\ntwo\n\nfour", maxRecordBytes: 100, quotedNewlines: false);

        Assert.Equal([(1L, "one", (string?)null), (2, "two", null), (3, "", null), (4, "four", null)], records);
    }

    [Fact]
    public async Task ReadAsync_EmptyStream_NoRecords() =>
        Assert.Empty(await ReadAllAsync("", maxRecordBytes: 100, quotedNewlines: true));

    [Fact]
    public async Task ReadAsync_OnlyANewline_OneEmptyRecord() =>
        Assert.Equal([(1L, "", (string?)null)], await ReadAllAsync("\n", maxRecordBytes: 100, quotedNewlines: false));

    [Fact]
    public async Task ReadAsync_QuotedNewlinesInCsv_BelongToTheRecordAndCountTowardsLineNumbers()
    {
        var records = await ReadAllAsync("h\n1,\"a\nb\r\nc\"\n2,\"x\"\"\n\"\"y\"\n3\n", maxRecordBytes: 100, quotedNewlines: true);

        Assert.Equal([(1L, "h", (string?)null), (2, "1,\"a\nb\r\nc\"", null), (5, "2,\"x\"\"\n\"\"y\"", null), (7, "3", null)], records);
    }

    [Fact]
    public async Task ReadAsync_QuotesInJsonLines_DoNotJoinLines()
    {
        var records = await ReadAllAsync("[\"a\n\"b\"]\n", maxRecordBytes: 100, quotedNewlines: false);

        Assert.Equal([(1L, "[\"a", (string?)null), (2, "\"b\"]", null)], records);
    }

    [Fact]
    public async Task ReadAsync_RecordOverTheLimit_IsAnErrorAndTheNextRecordsFollow()
    {
        var records = await ReadAllAsync($"short\n{new string('x', 17)}\n{new string('y', 16)}\nlast\n", maxRecordBytes: 16, quotedNewlines: false);

        Assert.Equal(
            [(1L, "short", (string?)null), (2, "", "record is longer than 16 bytes"), (3, new string('y', 16), null), (4, "last", null)],
            records);
    }

    [Fact]
    public async Task ReadAsync_CsvRecordOverTheLimitWithQuotedNewlines_KeepsCountingLines()
    {
        var records = await ReadAllAsync($"h\n\"{new string('x', 70_000)}\n{new string('x', 70_000)}\"\nnext\n", maxRecordBytes: 1000, quotedNewlines: true);

        Assert.Equal([(1L, "h", (string?)null), (2, "", "record is longer than 1000 bytes"), (4, "next", null)], records);
    }

    [Fact]
    public async Task ReadAsync_RecordManyBuffersLong_IsSkippedAndBytesReadCountsEverything()
    {
        using var stream = new GeneratedStream("a\n"u8.ToArray(), 5_000_000, (byte)'z', "\nb\nc"u8.ToArray());
        await using var reader = new RecordReader(stream, maxRecordBytes: 4096, quotedNewlines: false);

        var records = await ReadAllAsync(reader);

        Assert.Equal([(1L, "a", (string?)null), (2, "", "record is longer than 4096 bytes"), (3, "b", null), (4, "c", null)], records);
        Assert.Equal(stream.TotalLength, reader.BytesRead);
    }

    [Fact]
    public async Task ReadAsync_OverlongLastRecordWithoutNewline_IsAnError()
    {
        var records = await ReadAllAsync("ok\n" + new string('q', 200_000), maxRecordBytes: 1000, quotedNewlines: false);

        Assert.Equal([(1L, "ok", (string?)null), (2, "", "record is longer than 1000 bytes")], records);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ReadAsync_ByteOrderMarkAtTheStart_IsSkippedButCounted(bool oneByteAtATime)
    {
        byte[] bytes = [0xef, 0xbb, 0xbf, .. "h\n\uFEFFkept\n"u8];
        using var stream = oneByteAtATime ? new TrickleStream(bytes) : new MemoryStream(bytes);
        await using var reader = new RecordReader(stream, maxRecordBytes: 100, quotedNewlines: true);

        var records = await ReadAllAsync(reader);

        Assert.Equal([(1L, "h", (string?)null), (2, "\uFEFFkept", null)], records);
        Assert.Equal(bytes.Length, reader.BytesRead);
    }

    [Theory]
    [InlineData(new byte[] { 0xef, 0xbb, 0xbf }, new string[0])]
    [InlineData(new byte[] { 0xef, 0xbb }, new[] { "\ufffd" })]
    [InlineData(new byte[] { (byte)'a', (byte)'b' }, new[] { "ab" })]
    [InlineData(new byte[] { (byte)'a' }, new[] { "a" })]
    public async Task ReadAsync_ShortStreams_ByteOrderMarkAloneIsNoRecord(byte[] bytes, string[] expected)
    {
        using var stream = new TrickleStream(bytes);
        await using var reader = new RecordReader(stream, maxRecordBytes: 100, quotedNewlines: false);

        var records = await ReadAllAsync(reader);

        Assert.Equal(expected, records.Select(r => r.Text));
        Assert.Equal(bytes.Length, reader.BytesRead);
    }

    private static async Task<List<(long Line, string Text, string? Error)>> ReadAllAsync(string text, int maxRecordBytes, bool quotedNewlines)
    {
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(text));
        await using var reader = new RecordReader(stream, maxRecordBytes, quotedNewlines);
        var records = await ReadAllAsync(reader);
        Assert.Equal(stream.Length, reader.BytesRead);
        return records;
    }

    private static async Task<List<(long Line, string Text, string? Error)>> ReadAllAsync(RecordReader reader)
    {
        var records = new List<(long, string, string?)>();
        while (await reader.ReadAsync(CancellationToken.None) is { } record)
        {
            records.Add((record.Line, Encoding.UTF8.GetString(record.Bytes.Span), record.Error));
        }

        return records;
    }

    /// <summary>Hands out one byte per read, as a slow network stream may.</summary>
    private sealed class TrickleStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, 1));

        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, 1)]);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, 1)], cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            base.ReadAsync(buffer, offset, Math.Min(count, 1), cancellationToken);
    }
}

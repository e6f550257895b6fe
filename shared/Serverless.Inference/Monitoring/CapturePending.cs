namespace Serverless.Inference.Monitoring;

/// <summary>One object's records in waiting: lines laid end to end over pooled chunks (a line may span two).</summary>
internal sealed class CapturePending(CaptureBucketKey key, DateTimeOffset started)
{
    public CaptureBucketKey Key { get; } = key;

    public DateTimeOffset Started { get; } = started;

    public List<byte[]> Chunks { get; } = [];

    public int Length { get; private set; }

    public int Records { get; private set; }

    /// <summary>Copies a line into the chunks, which the buffer has made long enough.</summary>
    public void Append(ReadOnlySpan<byte> line)
    {
        while (!line.IsEmpty)
        {
            var chunk = Chunks[Length / CaptureBuffer.ChunkBytes];
            var offset = Length % CaptureBuffer.ChunkBytes;
            var count = Math.Min(line.Length, CaptureBuffer.ChunkBytes - offset);
            line[..count].CopyTo(chunk.AsSpan(offset));
            line = line[count..];
            Length += count;
        }

        Records++;
    }

    /// <summary>The lines as a stream, for the store to read once; the chunks stay held until the buffer releases them.</summary>
    public Stream OpenRead() => new ChunkReadStream(Chunks, Length);
}

namespace Serverless.Inference.Streaming;

/// <summary>The last readings of a partition key, oldest first, in a ring of fixed size: a new reading drops the oldest.</summary>
internal sealed class StreamReadings
{
    private readonly byte[] _ring;
    private int _start;

    public StreamReadings(int size, int readingBytes)
    {
        Size = size;
        ReadingBytes = readingBytes;
        _ring = new byte[size * readingBytes];
    }

    public int Size { get; }

    public int ReadingBytes { get; }

    public int Count { get; private set; }

    public bool IsFull => Count == Size;

    /// <summary>Readings saved earlier (oldest first); those beyond the window's size are the oldest and are dropped.</summary>
    public static StreamReadings From(int size, int readingBytes, ReadOnlySpan<byte> saved)
    {
        var readings = new StreamReadings(size, readingBytes);
        if (readingBytes > 0 && saved.Length % readingBytes == 0)
        {
            var count = saved.Length / readingBytes;
            for (var i = Math.Max(0, count - size); i < count; i++)
            {
                readings.Push(saved.Slice(i * readingBytes, readingBytes));
            }
        }

        return readings;
    }

    public void Push(ReadOnlySpan<byte> reading)
    {
        var slot = (_start + Count) % Size;
        if (IsFull)
        {
            slot = _start;
            _start = (_start + 1) % Size;
        }
        else
        {
            Count++;
        }

        reading.CopyTo(_ring.AsSpan(slot * ReadingBytes, ReadingBytes));
    }

    /// <summary>The readings oldest first, laid end to end.</summary>
    public byte[] ToArray()
    {
        var bytes = new byte[Count * ReadingBytes];
        for (var i = 0; i < Count; i++)
        {
            var slot = (_start + i) % Size;
            _ring.AsSpan(slot * ReadingBytes, ReadingBytes).CopyTo(bytes.AsSpan(i * ReadingBytes));
        }

        return bytes;
    }
}

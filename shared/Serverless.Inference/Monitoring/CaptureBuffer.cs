using System.Buffers;

namespace Serverless.Inference.Monitoring;

/// <summary>
/// Records waiting to be written, grouped by the object they will go to (model, version, UTC hour), in fixed-size
/// pooled chunks. The chunks held never pass the bound set at construction, whatever the traffic or the store does:
/// a record that does not fit is refused, and an object's chunks count until its write is over.
/// </summary>
internal sealed class CaptureBuffer(long boundBytes, int objectBytes)
{
    public const int ChunkBytes = 64 << 10;

    private readonly int _maxChunks = (int)Math.Max(2, boundBytes / ChunkBytes);
    private readonly Dictionary<CaptureBucketKey, CapturePending> _open = [];
    private readonly List<CapturePending> _due = [];
    private readonly Lock _lock = new();
    private int _chunksHeld;

    /// <summary>The bytes the chunks now held take (for tests and the benchmark: never above the bound).</summary>
    public long HeldBytes
    {
        get
        {
            lock (_lock)
            {
                return (long)_chunksHeld * ChunkBytes;
            }
        }
    }

    public long BoundBytes => (long)_maxChunks * ChunkBytes;

    /// <summary>Copies one line into its object's chunks.</summary>
    /// <returns>False when the bound leaves no room for it; true, and <paramref name="nowDue"/> when its object is full.</returns>
    public bool TryAppend(CaptureBucketKey key, ReadOnlySpan<byte> line, DateTimeOffset now, out bool nowDue)
    {
        nowDue = false;
        lock (_lock)
        {
            if (!_open.TryGetValue(key, out var pending))
            {
                pending = new CapturePending(key, now);
                _open.Add(key, pending);
            }

            var room = (pending.Chunks.Count * ChunkBytes) - pending.Length;
            var needed = line.Length - room;
            var newChunks = needed <= 0 ? 0 : (needed + ChunkBytes - 1) / ChunkBytes;
            if (_chunksHeld + newChunks > _maxChunks)
            {
                if (pending.Records == 0)
                {
                    _open.Remove(key);
                }

                return false;
            }

            for (var i = 0; i < newChunks; i++)
            {
                pending.Chunks.Add(ArrayPool<byte>.Shared.Rent(ChunkBytes));
            }

            _chunksHeld += newChunks;
            pending.Append(line);
            if (pending.Length >= objectBytes)
            {
                _open.Remove(key);
                _due.Add(pending);
                nowDue = true;
            }

            return true;
        }
    }

    /// <summary>Takes the objects due: full ones, those whose first record is older than <paramref name="maxAge"/>, or all with <paramref name="all"/>.</summary>
    public List<CapturePending> TakeDue(DateTimeOffset now, TimeSpan maxAge, bool all)
    {
        lock (_lock)
        {
            var taken = new List<CapturePending>(_due);
            _due.Clear();
            foreach (var (key, pending) in _open.Where(entry => all || now - entry.Value.Started >= maxAge).ToList())
            {
                _open.Remove(key);
                taken.Add(pending);
            }

            return taken;
        }
    }

    /// <summary>Gives an object's chunks back once its write is over, written or not.</summary>
    public void Release(CapturePending pending)
    {
        lock (_lock)
        {
            _chunksHeld -= pending.Chunks.Count;
        }

        foreach (var chunk in pending.Chunks)
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        pending.Chunks.Clear();
    }
}

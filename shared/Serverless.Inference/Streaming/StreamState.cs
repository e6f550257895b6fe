namespace Serverless.Inference.Streaming;

/// <summary>
/// Per-partition-key state for a model whose manifest asks for a window or a counting alert rule: pass one instance to
/// every <see cref="StreamScorer.ScoreAsync"/> call of a stream, so windows and runs of matches carry across batches.
/// <see cref="StreamProcessor"/> loads and saves it in the batch store; a local stream keeps it in memory, where at most
/// <see cref="MaxKeys"/> keys are held: a stream of ever new keys forgets the least recently seen instead of growing.
/// </summary>
public sealed class StreamState
{
    public const int DefaultMaxKeys = 100_000;

    private readonly Dictionary<string, LinkedListNode<KeyValuePair<string, StreamKeyState>>> _keys = new(StringComparer.Ordinal);

    // Most recently used first.
    private readonly LinkedList<KeyValuePair<string, StreamKeyState>> _recent = new();

    public StreamState(int maxKeys = DefaultMaxKeys)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxKeys, 1);
        MaxKeys = maxKeys;
    }

    public int MaxKeys { get; }

    /// <summary>How many partition keys have state.</summary>
    public int KeyCount => _keys.Count;

    internal IEnumerable<KeyValuePair<string, StreamKeyState>> Keys => _recent;

    internal StreamKeyState For(string partitionKey)
    {
        if (_keys.TryGetValue(partitionKey, out var node))
        {
            _recent.Remove(node);
            _recent.AddFirst(node);
            return node.Value.Value;
        }

        var state = new StreamKeyState();
        Set(partitionKey, state);
        return state;
    }

    internal void Set(string partitionKey, StreamKeyState state)
    {
        if (_keys.Remove(partitionKey, out var old))
        {
            _recent.Remove(old);
        }
        else if (_keys.Count >= MaxKeys && _recent.Last is { } oldest)
        {
            _recent.RemoveLast();
            _keys.Remove(oldest.Value.Key);
        }

        _keys[partitionKey] = _recent.AddFirst(new KeyValuePair<string, StreamKeyState>(partitionKey, state));
    }
}

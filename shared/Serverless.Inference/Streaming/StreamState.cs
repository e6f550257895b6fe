namespace Serverless.Inference.Streaming;

/// <summary>
/// Per-partition-key state for a model whose manifest asks for a window or a counting alert rule: pass one instance to
/// every <see cref="StreamScorer.ScoreAsync"/> call of a stream, so windows and runs of matches carry across batches.
/// <see cref="StreamProcessor"/> loads and saves it in the batch store; a local stream keeps it in memory.
/// </summary>
public sealed class StreamState
{
    private readonly Dictionary<string, StreamKeyState> _keys = new(StringComparer.Ordinal);

    /// <summary>How many partition keys have state.</summary>
    public int KeyCount => _keys.Count;

    internal IReadOnlyDictionary<string, StreamKeyState> Keys => _keys;

    internal StreamKeyState For(string partitionKey)
    {
        if (!_keys.TryGetValue(partitionKey, out var state))
        {
            state = new StreamKeyState();
            _keys[partitionKey] = state;
        }

        return state;
    }

    internal void Set(string partitionKey, StreamKeyState state) => _keys[partitionKey] = state;
}

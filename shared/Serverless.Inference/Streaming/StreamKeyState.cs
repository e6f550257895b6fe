namespace Serverless.Inference.Streaming;

/// <summary>
/// What is kept for one partition key between records: where it got to (to tell a late or repeated record), each
/// counting rule's run of matches, and the last readings for a window.
/// </summary>
internal sealed class StreamKeyState
{
    private readonly Dictionary<string, int> _streaks = new(StringComparer.Ordinal);

    public string? LastPosition { get; private set; }

    public DateTimeOffset? LastTimestamp { get; private set; }

    public StreamReadings? Readings { get; set; }

    /// <summary>Whether anything changed since the state was loaded: only changed keys are saved.</summary>
    public bool Changed { get; private set; }

    public IReadOnlyDictionary<string, int> Streaks => _streaks;

    public static StreamKeyState Restore(string? lastPosition, DateTimeOffset? lastTimestamp, IReadOnlyDictionary<string, int>? streaks, StreamReadings? readings)
    {
        var state = new StreamKeyState { LastPosition = lastPosition, LastTimestamp = lastTimestamp, Readings = readings };
        foreach (var (rule, count) in streaks ?? new Dictionary<string, int>())
        {
            state._streaks[rule] = count;
        }

        return state;
    }

    public void Advance(StreamRecord record)
    {
        LastPosition = record.Position;
        LastTimestamp = record.Timestamp;
        Changed = true;
    }

    public int Streak(string rule) => _streaks.GetValueOrDefault(rule);

    public void SetStreak(string rule, int count)
    {
        if (Streak(rule) != count)
        {
            _streaks[rule] = count;
            Changed = true;
        }
    }

    public void Push(ReadOnlySpan<byte> reading)
    {
        Readings!.Push(reading);
        Changed = true;
    }
}

using System.Collections.Concurrent;
using System.Diagnostics;

namespace Serverless.Inference.Serving;

/// <summary>
/// One model version's cumulative counts and durations since this process started, as Triton's statistics extension
/// reports them: requests that succeeded or failed, the time they queued, were read, ran and were written, and the
/// model executions by batch size (a dynamic batch is one execution for several requests).
/// </summary>
internal sealed class ModelStatistics(string name, string version, TimeProvider time)
{
    // Batch sizes are bounded by max_batch_size or the request size limit; this bound only keeps a hostile mix of
    // sizes from growing the table without end.
    private const int MaxBatchSizesTracked = 1024;

    private readonly ConcurrentDictionary<int, Duration> _batches = new();
    private long _inferenceCount;
    private long _executionCount;
    private long _lastInference;

    public string Name => name;

    public string Version => version;

    public Duration Success { get; } = new();

    public Duration Fail { get; } = new();

    public Duration Queue { get; } = new();

    public Duration ComputeInput { get; } = new();

    public Duration ComputeInfer { get; } = new();

    public Duration ComputeOutput { get; } = new();

    /// <summary>Rows answered successfully (a request of 64 rows counts 64).</summary>
    public long InferenceCount => Interlocked.Read(ref _inferenceCount);

    public long ExecutionCount => Interlocked.Read(ref _executionCount);

    /// <summary>Milliseconds since the epoch of the last request's end; 0 before the first.</summary>
    public long LastInference => Interlocked.Read(ref _lastInference);

    /// <summary>Model execution time by the rows each execution ran, ascending.</summary>
    public IEnumerable<(int BatchSize, Duration ComputeInfer)> Batches => _batches.OrderBy(pair => pair.Key).Select(pair => (pair.Key, pair.Value));

    /// <summary>Adds a finished request; <paramref name="answered"/> is when its response was written.</summary>
    public void RecordRequest(RequestTimeline timeline, bool succeeded, long answered)
    {
        Interlocked.Exchange(ref _lastInference, time.GetUtcNow().ToUnixTimeMilliseconds());
        var total = answered - timeline.Received;
        if (!succeeded)
        {
            Fail.Add(total);
            return;
        }

        Success.Add(total);
        Interlocked.Add(ref _inferenceCount, timeline.Rows);
        var parsed = timeline.Parsed == 0 ? timeline.Received : timeline.Parsed;
        ComputeInput.Add(parsed - timeline.Received);
        if (timeline.RunStarted != 0)
        {
            Queue.Add(timeline.RunStarted - parsed);
            ComputeInfer.Add(timeline.RunEnded - timeline.RunStarted);
            ComputeOutput.Add(answered - timeline.RunEnded);
        }
    }

    /// <summary>Adds one model execution of <paramref name="rows"/> rows that took <paramref name="elapsed"/> Stopwatch ticks.</summary>
    public void RecordExecution(int rows, long elapsed)
    {
        Interlocked.Increment(ref _executionCount);
        if (_batches.TryGetValue(rows, out var known))
        {
            known.Add(elapsed);
        }
        else if (_batches.Count < MaxBatchSizesTracked)
        {
            _batches.GetOrAdd(rows, _ => new Duration()).Add(elapsed);
        }
    }

    /// <summary>A count and the sum of the durations counted.</summary>
    internal sealed class Duration
    {
        private long _count;
        private long _ticks;

        public long Count => Interlocked.Read(ref _count);

        public long Nanoseconds => (long)(Interlocked.Read(ref _ticks) * (1_000_000_000.0 / Stopwatch.Frequency));

        public void Add(long ticks)
        {
            Interlocked.Increment(ref _count);
            Interlocked.Add(ref _ticks, Math.Max(0, ticks));
        }
    }
}

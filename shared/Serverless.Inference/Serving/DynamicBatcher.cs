using System.Diagnostics;
using Serverless.Inference.Repository;
using Serverless.Inference.Runtime;
using Serverless.Inference.Telemetry;

namespace Serverless.Inference.Serving;

/// <summary>
/// Triton's dynamic batcher for one loaded model version: concurrent requests wait up to the queue delay (counted from
/// when the model was last free) to share one run, which starts at once when their rows reach the largest preferred
/// batch size; each caller gets exactly its rows.
/// Only requests whose tensors agree beyond the first dimension (names, datatypes, other dimensions, outputs asked
/// for) share a run; text lengths differ before tokenizing, not after, so pipelines merge texts and pad them together.
/// </summary>
internal sealed class DynamicBatcher
{
    private readonly IInferenceModel _model;
    private readonly int _maxBatchSize;
    private readonly int _targetRows;
    private readonly long _delayTicks;
    private readonly int _maxQueueSize;
    private readonly KeyValuePair<string, object?>[] _tags;
    private readonly ModelStatistics _statistics;
    private readonly Lock _gate = new();
    private readonly List<QueuedRequest> _queue = [];
    // Monitor.Wait keeps a 2 ms queue delay within a few tenths of a millisecond, where Task.Delay's timer rounds it to
    // about 4 ms here. It blocks the batcher's pool thread, so a long delay is waited in slices with yields between.
    private static readonly TimeSpan MaxBlockingWait = TimeSpan.FromMilliseconds(20);
    private readonly object _signal = new();
    private long _signals;
    private bool _draining;
    private long _lastRunEnded;

    public DynamicBatcher(IInferenceModel model, int maxBatchSize, DynamicBatchingManifest settings, ModelStatistics statistics)
    {
        _statistics = statistics;
        _model = model;
        _maxBatchSize = maxBatchSize;
        _targetRows = settings.PreferredBatchSize is { Count: > 0 } preferred ? preferred.Max() : maxBatchSize;
        _delayTicks = settings.MaxQueueDelayMicroseconds * Stopwatch.Frequency / 1_000_000;
        _maxQueueSize = settings.MaxQueueSize;
        _tags = [new("model.name", statistics.Name), new("model.version", statistics.Version)];
    }

    /// <summary>Requests waiting for a run.</summary>
    public int Waiting
    {
        get
        {
            lock (_gate)
            {
                return _queue.Count;
            }
        }
    }

    /// <summary>Runs the inputs, in a run shared with other waiting requests when they can merge.</summary>
    /// <param name="timeLeft">The caller's remaining deadline, when it has one: a run never waits past half of it.</param>
    /// <param name="timeline">Told when the run holding the request starts and ends.</param>
    public async Task<ModelOutputs> RunAsync(
        IReadOnlyList<InputTensor> inputs, IReadOnlyList<string> outputNames, TimeSpan? timeLeft, CancellationToken cancellationToken, RequestTimeline? timeline = null)
    {
        if (RowsOf(inputs) is not { } rows || rows > _maxBatchSize)
        {
            // No batch dimension to merge along, or too many rows to share a run: the model answers it alone.
            return RunTimed(inputs, outputNames, RowsOf(inputs) ?? 1, timeline, cancellationToken);
        }

        if (TryRunNow())
        {
            try
            {
                InferenceTelemetry.DynamicBatchRequests.Record(1, _tags);
                return RunTimed(inputs, outputNames, rows, timeline, cancellationToken);
            }
            finally
            {
                HandOver();
            }
        }

        var arrived = Stopwatch.GetTimestamp();
        var latestStart = timeLeft is { } left ? arrived + (long)(left.TotalSeconds / 2 * Stopwatch.Frequency) : long.MaxValue;
        var request = new QueuedRequest(inputs, outputNames, rows, MergeKey(inputs, outputNames), arrived, latestStart, timeline, cancellationToken);
        bool startDraining;
        lock (_gate)
        {
            if (_queue.Count >= _maxQueueSize)
            {
                InferenceTelemetry.RequestsRefused.Add(1, [.. _tags, new("reason", "queue_full")]);
                throw new InferenceException(
                    InferenceErrorKind.TooManyRequests,
                    $"{_queue.Count} requests are already waiting for this model (dynamic_batching.max_queue_size); retry shortly");
            }

            _queue.Add(request);
            startDraining = !_draining;
            _draining = true;
            _signals++;
        }

        Signal();

        if (startDraining)
        {
            _ = Task.Run(Drain, CancellationToken.None);
        }

        try
        {
            return await request.Completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        // A caller still in the queue is withdrawn by the filter and its cancellation goes on up at once.
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && !Withdraw(request))
        {
            // Its run has started and reads its inputs: the caller may free them only once the run is over.
            await ((Task)request.Completion.Task).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (request.Completion.Task.IsCompletedSuccessfully)
            {
                request.Completion.Task.Result.Dispose();
            }

            throw;
        }
    }

    /// <summary>
    /// With no queue delay, a request that finds the model idle runs at once on its own thread: waiting would gain
    /// nothing, and the hop to the batcher's loop would cost a cheap model more than its run. Requests arriving
    /// meanwhile queue up, and share the next run.
    /// </summary>
    private bool TryRunNow()
    {
        if (_delayTicks > 0)
        {
            return false;
        }

        lock (_gate)
        {
            if (_draining || _queue.Count > 0)
            {
                return false;
            }

            _draining = true;
            return true;
        }
    }

    /// <summary>After a run on a caller's thread: the requests that queued meanwhile go to the batcher's loop.</summary>
    private void HandOver()
    {
        lock (_gate)
        {
            if (_queue.Count == 0)
            {
                _draining = false;
                return;
            }
        }

        _ = Task.Run(Drain, CancellationToken.None);
    }

    /// <summary>Wakes the loop: a request arrived.</summary>
    private void Signal()
    {
        lock (_signal)
        {
            Monitor.PulseAll(_signal);
        }
    }

    private void WaitForSignal(long seen, TimeSpan wait)
    {
        lock (_signal)
        {
            if (Volatile.Read(ref _signals) == seen)
            {
                Monitor.Wait(_signal, wait);
            }
        }
    }

    private bool Withdraw(QueuedRequest request)
    {
        lock (_gate)
        {
            return _queue.Remove(request);
        }
    }

    private async Task Drain()
    {
        while (true)
        {
            MergedRun? run;
            TimeSpan wait;
            long signals;
            lock (_gate)
            {
                if (_queue.Count == 0)
                {
                    _draining = false;
                    return;
                }

                (run, wait) = TakeReady();
                signals = _signals;
            }

            if (run is null)
            {
                // Until the oldest has waited its longest, or another request arrives that may complete the batch.
                WaitForSignal(signals, wait < MaxBlockingWait ? wait : MaxBlockingWait);
                await Task.Yield();
                continue;
            }

            Execute(run);
            lock (_gate)
            {
                _lastRunEnded = Stopwatch.GetTimestamp();
            }
        }
    }

    /// <summary>
    /// The oldest request and those that can join it, once their rows reach the target, the next would not fit, or
    /// one of them has waited its longest; otherwise how long until that.
    /// </summary>
    private (MergedRun? Run, TimeSpan Wait) TakeReady()
    {
        var head = _queue[0];
        var members = new List<QueuedRequest>();
        var rows = 0;
        var flushBy = long.MaxValue;
        var full = false;
        foreach (var request in _queue)
        {
            if (request.Key != head.Key)
            {
                continue;
            }

            if (rows + request.Rows > _maxBatchSize)
            {
                full = true;
                break;
            }

            members.Add(request);
            rows += request.Rows;
            // The delay counts from when the model was free to run: a request that queued behind a run has not yet
            // had its chance to gather company (closed-loop callers answered by that run are about to come back).
            var waitedFrom = Math.Max(request.Arrived, _lastRunEnded);
            flushBy = Math.Min(flushBy, Math.Min(waitedFrom + _delayTicks, request.LatestStart));
        }

        var now = Stopwatch.GetTimestamp();
        if (!full && rows < _targetRows && now < flushBy)
        {
            return (null, Stopwatch.GetElapsedTime(now, flushBy));
        }

        foreach (var member in members)
        {
            _queue.Remove(member);
        }

        // Merged while the lock keeps every member's caller waiting, so no caller frees inputs being copied.
        return (MergedRun.Of(members, rows), TimeSpan.Zero);
    }

    private void Execute(MergedRun run)
    {
        InferenceTelemetry.DynamicBatchRequests.Record(run.Members.Count, _tags);
        if (run.Members.Count == 1)
        {
            RunAlone(run.Members[0]);
            return;
        }

        ModelOutputs merged;
        var started = Stopwatch.GetTimestamp();
        try
        {
            merged = _model.Run(run.Inputs, run.Members[0].OutputNames, CancellationToken.None);
        }
#pragma warning disable CA1031 // Whatever failed the shared run (one caller's bad input, most often), each caller now meets alone.
        catch (Exception)
#pragma warning restore CA1031
        {
            run.Members.ForEach(RunAlone);
            return;
        }
        finally
        {
            run.DisposeInputs();
        }

        if (merged.Tensors.Any(tensor => tensor.Shape.Length == 0 || tensor.Shape[0] != run.Rows))
        {
            // An output without the batch as its first dimension cannot be split by rows.
            merged.Dispose();
            run.Members.ForEach(RunAlone);
            return;
        }

        var ended = Stopwatch.GetTimestamp();
        _statistics.RecordExecution(run.Rows, ended - started);
        var shares = new SharedOutputs(merged, run.Members.Count);
        var firstRow = 0;
        foreach (var member in run.Members)
        {
            var start = firstRow;
            if (member.Timeline is { } memberTimeline)
            {
                (memberTimeline.RunStarted, memberTimeline.RunEnded) = (started, ended);
            }

            var outputs = new ModelOutputs(
                [.. merged.Tensors.Select(tensor => tensor.Rows(start, member.Rows))],
                shares.Share(),
                [.. merged.RowCounts.Select(count => count.ToParameter(start, member.Rows)).OfType<Protocol.Parameter>()]);
            if (!member.Completion.TrySetResult(outputs))
            {
                outputs.Dispose();
            }

            firstRow += member.Rows;
        }
    }

    private void RunAlone(QueuedRequest request)
    {
        try
        {
            request.Completion.TrySetResult(RunTimed(request.Inputs, request.OutputNames, request.Rows, request.Timeline, request.CancellationToken));
        }
#pragma warning disable CA1031 // The caller awaiting this request rethrows it; the batcher goes on with the others.
        catch (Exception e)
#pragma warning restore CA1031
        {
            request.Completion.TrySetException(e);
        }
    }

    /// <summary>A run of one request's inputs alone, counted as an execution and stamped on its timeline.</summary>
    private ModelOutputs RunTimed(IReadOnlyList<InputTensor> inputs, IReadOnlyList<string> outputNames, int rows, RequestTimeline? timeline, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var outputs = _model.Run(inputs, outputNames, cancellationToken);
        var ended = Stopwatch.GetTimestamp();
        _statistics.RecordExecution(rows, ended - started);
        if (timeline is not null)
        {
            (timeline.RunStarted, timeline.RunEnded) = (started, ended);
        }

        return outputs;
    }

    /// <summary>The rows every input holds along its first dimension; null when they disagree or an input has none.</summary>
    private static int? RowsOf(IReadOnlyList<InputTensor> inputs)
    {
        if (inputs.Count == 0 || inputs[0].Shape.Length == 0)
        {
            return null;
        }

        var rows = inputs[0].Shape[0];
        return rows > 0 && rows <= int.MaxValue && inputs.All(input => input.Shape.Length > 0 && input.Shape[0] == rows) ? (int)rows : null;
    }

    private static string MergeKey(IReadOnlyList<InputTensor> inputs, IReadOnlyList<string> outputNames) =>
        string.Join('|', inputs.Select(input => $"{input.Name}:{input.DataType}:{string.Join(',', input.Shape.Skip(1))}"))
        + "=>" + string.Join('|', outputNames);

    private sealed class QueuedRequest(
        IReadOnlyList<InputTensor> inputs,
        IReadOnlyList<string> outputNames,
        int rows,
        string key,
        long arrived,
        long latestStart,
        RequestTimeline? timeline,
        CancellationToken cancellationToken)
    {
        public IReadOnlyList<InputTensor> Inputs => inputs;

        public IReadOnlyList<string> OutputNames => outputNames;

        public int Rows => rows;

        public string Key => key;

        public long Arrived => arrived;

        /// <summary>When its run must start at the latest, from the caller's deadline; long.MaxValue when it has none.</summary>
        public long LatestStart => latestStart;

        public CancellationToken CancellationToken => cancellationToken;

        public RequestTimeline? Timeline => timeline;

        public TaskCompletionSource<ModelOutputs> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>The members of one run and their inputs joined along the first dimension (owned here until the run is over).</summary>
    private sealed class MergedRun(List<QueuedRequest> members, int rows, List<InputTensor> inputs)
    {
        public List<QueuedRequest> Members => members;

        public int Rows => rows;

        public IReadOnlyList<InputTensor> Inputs => inputs;

        public static MergedRun Of(List<QueuedRequest> members, int rows)
        {
            if (members.Count == 1)
            {
                return new MergedRun(members, rows, []);
            }

            var first = members[0].Inputs;
            var inputs = new List<InputTensor>(first.Count);
            for (var index = 0; index < first.Count; index++)
            {
                var parts = members.Select(member => member.Inputs[index]).ToList();
                inputs.Add(Join(parts, rows));
            }

            return new MergedRun(members, rows, inputs);
        }

        public void DisposeInputs() => inputs.ForEach(input => input.Dispose());

        private static InputTensor Join(List<InputTensor> parts, int rows)
        {
            var model = parts[0];
            long[] shape = [rows, .. model.Shape.AsSpan(1)];
            if (model.DataType == TensorDataType.Bytes)
            {
                return InputTensor.CreateBytes(model.Name, shape, [.. parts.SelectMany(part => part.Strings!.Take(part.ElementCount))]);
            }

            var joined = InputTensor.CreateNumeric(model.Name, model.DataType, shape, parts.Sum(part => part.ElementCount));
            var offset = 0;
            foreach (var part in parts)
            {
                part.Bytes.CopyTo(joined.Bytes[offset..]);
                offset += part.ByteLength;
            }

            return joined;
        }
    }

    /// <summary>The merged run's outputs, released when the last caller disposes its share.</summary>
    private sealed class SharedOutputs(ModelOutputs merged, int shares)
    {
        private int _left = shares;

        public IDisposable Share() => new Handle(this);

        private void Release()
        {
            if (Interlocked.Decrement(ref _left) == 0)
            {
                merged.Dispose();
            }
        }

        private sealed class Handle(SharedOutputs owner) : IDisposable
        {
            private SharedOutputs? _owner = owner;

            public void Dispose() => Interlocked.Exchange(ref _owner, null)?.Release();
        }
    }
}

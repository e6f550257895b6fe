using Serverless.Inference.Telemetry;

namespace Serverless.Inference.Hosting;

/// <summary>
/// Admission by memory: each run reserves the working memory it is estimated to need, and runs only when that fits
/// beside the runs already going. A request that could never fit is refused (413) before it allocates anything; when
/// the line of waiting requests is full, or a request has waited its maximum, it is told to come back (429). Waiters are
/// served in order, so a large request is not starved by a stream of small ones.
/// </summary>
internal sealed class RequestMemoryGate
{
    private readonly Lock _gate = new();
    private readonly LinkedList<Waiter> _waiting = new();
    private readonly TimeProvider _time;
    private long _inUse;

    public RequestMemoryGate(long capacityBytes, int maxWaiting, TimeSpan maxWait, TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacityBytes);
        ArgumentOutOfRangeException.ThrowIfNegative(maxWaiting);
        CapacityBytes = capacityBytes;
        MaxWaiting = maxWaiting;
        MaxWait = maxWait;
        _time = time ?? TimeProvider.System;
    }

    public long CapacityBytes { get; }

    /// <summary>Online requests that may wait at once; more are answered 429.</summary>
    public int MaxWaiting { get; }

    /// <summary>How long an online request may wait before it is answered 429.</summary>
    public TimeSpan MaxWait { get; }

    public long InUseBytes
    {
        get
        {
            lock (_gate)
            {
                return _inUse;
            }
        }
    }

    public async ValueTask<MemoryReservation> EnterAsync(long bytes, MemoryWait wait, CancellationToken cancellationToken)
    {
        bytes = Math.Max(bytes, 1);
        if (bytes > CapacityBytes)
        {
            InferenceTelemetry.RequestsRefused.Add(1, new KeyValuePair<string, object?>("reason", "too_large"));
            throw new InferenceException(
                InferenceErrorKind.PayloadTooLarge,
                $"this request needs an estimated {Megabytes(bytes)} MB of working memory; this instance has {Megabytes(CapacityBytes)} MB for running requests: send fewer rows or shorter inputs");
        }

        Waiter waiter;
        lock (_gate)
        {
            if (_waiting.Count == 0 && _inUse + bytes <= CapacityBytes)
            {
                _inUse += bytes;
                return new MemoryReservation(this, bytes);
            }

            if (wait == MemoryWait.Online && _waiting.Count(w => w.Wait == MemoryWait.Online) >= MaxWaiting)
            {
                InferenceTelemetry.RequestsRefused.Add(1, new KeyValuePair<string, object?>("reason", "busy"));
                throw Busy();
            }

            waiter = new Waiter(bytes, wait);
            waiter.Node = _waiting.AddLast(waiter);
        }

        try
        {
            await (wait == MemoryWait.Online
                ? waiter.Granted.Task.WaitAsync(MaxWait, _time, cancellationToken)
                : waiter.Granted.Task.WaitAsync(cancellationToken)).ConfigureAwait(false);
            return new MemoryReservation(this, bytes);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            lock (_gate)
            {
                if (waiter.Node!.List is not null)
                {
                    _waiting.Remove(waiter.Node);
                    GrantWaitersLocked();
                }
                else
                {
                    // Granted while giving up: hand the memory back.
                    _inUse -= bytes;
                    GrantWaitersLocked();
                }
            }

            if (e is TimeoutException)
            {
                InferenceTelemetry.RequestsRefused.Add(1, new KeyValuePair<string, object?>("reason", "busy"));
                throw Busy();
            }

            throw;
        }
    }

    internal void Release(long bytes)
    {
        lock (_gate)
        {
            _inUse -= bytes;
            GrantWaitersLocked();
        }
    }

    private void GrantWaitersLocked()
    {
        while (_waiting.First is { } first && _inUse + first.Value.Bytes <= CapacityBytes)
        {
            _waiting.RemoveFirst();
            _inUse += first.Value.Bytes;
            first.Value.Granted.TrySetResult();
        }
    }

    private InferenceException Busy() => new(
        InferenceErrorKind.TooManyRequests,
        $"the server is busy: running requests hold the memory this instance has for them ({Megabytes(CapacityBytes)} MB) and {MaxWaiting} more are waiting; retry shortly");

    private static long Megabytes(long bytes) => (bytes + (1 << 20) - 1) >> 20;

    private sealed class Waiter(long bytes, MemoryWait wait)
    {
        public long Bytes { get; } = bytes;

        public MemoryWait Wait { get; } = wait;

        public TaskCompletionSource Granted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public LinkedListNode<Waiter>? Node { get; set; }
    }
}

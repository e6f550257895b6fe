namespace Serverless.Inference.Batch;

/// <summary>
/// The time an invocation may still work: the platform's deadline less a reserve kept to record the outcome, as a
/// token linked to the host's own shutdown. A run the deadline stops counts as an attempt; a shutdown is nobody's failure.
/// </summary>
internal sealed class InvocationDeadline : IDisposable
{
    private readonly CancellationTokenSource _reached;
    private readonly CancellationTokenSource _linked;
    private readonly TimeProvider _time;
    private readonly long _started;

    private InvocationDeadline(TimeSpan left, TimeProvider time, CancellationToken shutdown)
    {
        _time = time;
        _reached = new CancellationTokenSource(left, time);
        _linked = CancellationTokenSource.CreateLinkedTokenSource(shutdown, _reached.Token);
        _started = time.GetTimestamp();
    }

    public CancellationToken Token => _linked.Token;

    /// <summary>Whether the deadline, not the host, stopped the work.</summary>
    public bool Reached => _reached.IsCancellationRequested;

    public TimeSpan Elapsed => _time.GetElapsedTime(_started);

    /// <returns>Null when the deadline is already within the reserve: the work is better left to another delivery.</returns>
    public static InvocationDeadline? Start(DateTimeOffset? deadline, TimeSpan reserve, TimeProvider time, CancellationToken shutdown)
    {
        var left = deadline is { } end ? end - time.GetUtcNow() - reserve : Timeout.InfiniteTimeSpan;
        return deadline is not null && left <= TimeSpan.Zero ? null : new InvocationDeadline(left, time, shutdown);
    }

    public void Dispose()
    {
        _linked.Dispose();
        _reached.Dispose();
    }
}

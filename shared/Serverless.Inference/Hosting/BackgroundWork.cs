namespace Serverless.Inference.Hosting;

/// <summary>
/// Work the host does on its own behalf (loads, refreshes): apart from any request, so no request's token stops it;
/// cancelled by <see cref="Dispose"/>, after which nothing new starts; and every failure is observed.
/// </summary>
internal sealed class BackgroundWork : IDisposable
{
    // Cancelled but never disposed: work still winding down may register on its token after Dispose.
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _gate = new();
    private readonly HashSet<Task> _running = [];
    private bool _disposed;

    /// <summary>Starts the work on the thread pool, or returns null once disposed.</summary>
    public Task<T>? TryStart<T>(Func<CancellationToken, Task<T>> work)
    {
        Task<T> task;
        lock (_gate)
        {
            if (_disposed)
            {
                return null;
            }

            var stopping = _stopping.Token;
            task = Task.Run(() => work(stopping), CancellationToken.None);
            _running.Add(task);
        }

        _ = task.ContinueWith(Finished, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return task;
    }

    /// <summary>Completes once no work is running, including work started meanwhile.</summary>
    public async Task WhenIdleAsync()
    {
        while (true)
        {
            Task[] running;
            lock (_gate)
            {
                running = [.. _running];
            }

            if (running.Length == 0)
            {
                return;
            }

            await Task.WhenAll(running.Select(task => task.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default))).ConfigureAwait(false);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        _stopping.Cancel();
    }

    private void Finished(Task task)
    {
        // A load nobody waits for any more (every waiter cancelled) must not surface as an unobserved exception.
        _ = task.Exception;
        lock (_gate)
        {
            _running.Remove(task);
        }
    }
}

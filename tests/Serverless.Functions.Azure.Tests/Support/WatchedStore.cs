using Serverless.Inference.Batch;

namespace Serverless.Functions.Azure.Tests.Support;

/// <summary>The real store, with a count of its composes and a step a test can run after a create, to line up a race.</summary>
public sealed class WatchedStore(IBatchStore inner) : IBatchStore
{
    private int _composes;
    private long _composeTicks;

    /// <summary>Every compose asked for, whether it created its key or not: one per merge attempted.</summary>
    public int Composes => _composes;

    /// <summary>Time spent in composes, all together.</summary>
    public TimeSpan ComposeTime => TimeSpan.FromTicks(Interlocked.Read(ref _composeTicks));

    /// <summary>Runs before every create, with its key: a test throws from it to make the store fail there.</summary>
    public Func<string, Task>? BeforeCreate { get; set; }

    /// <summary>Runs after every successful create, with its key.</summary>
    public Func<string, Task>? AfterCreate { get; set; }

    public string Description => inner.Description;

    public Task<BatchObject?> StatAsync(string key, CancellationToken cancellationToken) => inner.StatAsync(key, cancellationToken);

    public Task<Stream> OpenReadAsync(BatchObject pinned, long offset, long? length, CancellationToken cancellationToken) => inner.OpenReadAsync(pinned, offset, length, cancellationToken);

    public async Task<bool> CreateAsync(string key, Stream content, CancellationToken cancellationToken)
    {
        if (BeforeCreate is { } before)
        {
            await before(key);
        }

        var created = await inner.CreateAsync(key, content, cancellationToken);
        if (created && AfterCreate is { } step)
        {
            await step(key);
        }

        return created;
    }

    public async Task<bool> ComposeAsync(string key, IReadOnlyList<BatchObject> parts, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _composes);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            return await inner.ComposeAsync(key, parts, cancellationToken);
        }
        finally
        {
            Interlocked.Add(ref _composeTicks, System.Diagnostics.Stopwatch.GetElapsedTime(started).Ticks);
        }
    }

    public Task WriteAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) => inner.WriteAsync(key, content, cancellationToken);

    public Task<bool> DeleteAsync(BatchObject pinned, CancellationToken cancellationToken) => inner.DeleteAsync(pinned, cancellationToken);

    public IAsyncEnumerable<BatchObject> ListAsync(string prefix, CancellationToken cancellationToken) => inner.ListAsync(prefix, cancellationToken);
}

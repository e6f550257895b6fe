using System.Threading.Channels;

namespace Serverless.Infer.Cli;

/// <summary>An item with the time it arrived (a <see cref="TimeProvider.GetTimestamp"/> reading).</summary>
internal readonly record struct Arrival<T>(T Item, long Arrived);

/// <summary>
/// Takes items off a channel in batches with a latency bound: a batch is handed on as soon as it holds
/// <paramref name="maxBatch"/> items, or once its first item has waited <paramref name="maxLatency"/>, whichever
/// comes first; an item that finds the batch empty never waits longer than that. So a slow stream gets its
/// answers within the bound, and a fast one gets full batches.
/// </summary>
internal sealed class LatencyBatcher<T>(ChannelReader<Arrival<T>> source, int maxBatch, TimeSpan maxLatency, TimeProvider time)
{
    /// <summary>The next batch, or null once the channel is completed and empty.</summary>
    public async ValueTask<List<T>?> NextAsync()
    {
        if (!await source.WaitToReadAsync().ConfigureAwait(false) || !source.TryRead(out var first))
        {
            return null;
        }

        var batch = new List<T>(Math.Min(maxBatch, 64)) { first.Item };
        while (batch.Count < maxBatch)
        {
            while (batch.Count < maxBatch && source.TryRead(out var next))
            {
                batch.Add(next.Item);
            }

            var remaining = maxLatency - time.GetElapsedTime(first.Arrived);
            if (batch.Count == maxBatch || remaining <= TimeSpan.Zero || !await WaitAsync(remaining).ConfigureAwait(false))
            {
                break;
            }
        }

        return batch;
    }

    /// <summary>Whether more arrived within <paramref name="timeout"/> (false also when the channel completed).</summary>
    private async ValueTask<bool> WaitAsync(TimeSpan timeout)
    {
        using var timer = new CancellationTokenSource(timeout, time);
        try
        {
            return await source.WaitToReadAsync(timer.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timer.IsCancellationRequested)
        {
            return false;
        }
    }
}

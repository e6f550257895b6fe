using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serverless.Inference.Batch;

namespace Serverless.Infer.Cli;

/// <summary>
/// The local counterpart of a Blob or S3 trigger: polls incoming/ of a drop folder and hands each file,
/// once it has stopped changing, to the same batch runner the cloud adapters use. Polling rather than
/// file-system events: events are lost on some file systems and arrive mid-write on all of them.
/// </summary>
internal sealed partial class DropFolderWatcher(LocalFolderBatchStore store, BatchJobRunner runner, TimeProvider time, ILogger<DropFolderWatcher> logger)
    : BackgroundService
{
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    /// <summary>How often a file whose shards are being scored is looked at again.</summary>
    public static readonly TimeSpan ShardedRecheck = TimeSpan.FromMinutes(1);

    // A file counts as written once its size and time have not changed for a whole poll.
    private readonly Dictionary<string, (long Length, DateTime Written)> _seen = [];
    private readonly Dictionary<string, (long Length, DateTime Written)> _done = [];
    private readonly Dictionary<string, DateTimeOffset> _retryAt = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var folder = Path.Combine(store.Root, BatchKey.Incoming);
        LogWatching(logger, folder);
        using var timer = new PeriodicTimer(PollInterval, time);
        do
        {
            await ScanOnceAsync(stoppingToken).ConfigureAwait(false);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    /// <summary>One pass over incoming/; returns the outcomes of the files it processed.</summary>
    internal async Task<IReadOnlyList<BatchOutcome>> ScanOnceAsync(CancellationToken cancellationToken)
    {
        var outcomes = new List<BatchOutcome>();
        var keys = store.ListIncoming();
        Forget(keys);
        foreach (var key in keys)
        {
            var info = new FileInfo(Path.Combine(store.Root, key));
            if (!info.Exists)
            {
                continue;
            }

            var state = (info.Length, info.LastWriteTimeUtc);
            var settled = _seen.TryGetValue(key, out var before) && before == state;
            _seen[key] = state;
            if (!settled || (_done.TryGetValue(key, out var done) && done == state)
                || (_retryAt.TryGetValue(key, out var at) && time.GetUtcNow() < at))
            {
                continue;
            }

            BatchOutcome outcome;
            try
            {
                outcome = await runner.ProcessAsync(key, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
#pragma warning disable CA1031 // One file must never stop the watcher (and with it the whole host); it is tried again later.
            catch (Exception e)
#pragma warning restore CA1031
            {
                LogNotProcessed(logger, e, key);
                outcome = new BatchOutcome(BatchOutcomeKind.WillRetry, key, Error: e.Message);
            }

            outcomes.Add(outcome);
            if (outcome.Kind == BatchOutcomeKind.WillRetry)
            {
                _retryAt[key] = time.GetUtcNow() + TimeSpan.FromSeconds(5);
            }
            else if (outcome.Kind == BatchOutcomeKind.Sharded)
            {
                // Its shards are being scored: looked at again now and then, which finds the result, or sends the
                // shards of a run that stalled (say, the server stopped while they were in line) once more.
                _retryAt[key] = time.GetUtcNow() + ShardedRecheck;
            }
            else
            {
                _done[key] = state;
                _retryAt.Remove(key);
            }
        }

        return outcomes;
    }

    /// <summary>Drops what is remembered about files that are gone, so a long-running watch stays small.</summary>
    private void Forget(IReadOnlyList<string> present)
    {
        var keep = present.ToHashSet(StringComparer.Ordinal);
        foreach (var table in new IDictionary<string, (long, DateTime)>[] { _seen, _done })
        {
            foreach (var gone in table.Keys.Where(key => !keep.Contains(key)).ToList())
            {
                table.Remove(gone);
            }
        }

        foreach (var gone in _retryAt.Keys.Where(key => !keep.Contains(key)).ToList())
        {
            _retryAt.Remove(gone);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Watching {Folder} for batch files")]
    private static partial void LogWatching(ILogger logger, string folder);

    [LoggerMessage(Level = LogLevel.Error, Message = "Batch input {Key} could not be processed; it will be tried again")]
    private static partial void LogNotProcessed(ILogger logger, Exception exception, string key);
}

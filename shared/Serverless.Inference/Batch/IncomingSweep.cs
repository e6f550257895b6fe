using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Serverless.Inference.Batch;

/// <summary>
/// Picks up files whose event never came (dropped after its retries, a subscription added later): every object under
/// incoming/ older than <see cref="IncomingSweepOptions.OlderThan"/> goes through the same runner as an event would.
/// The runner is idempotent, so a file already scored costs one look at its results key and nothing more. Each sweep is
/// bounded in files and time; what it leaves, the next one takes. Azure runs it on a timer, AWS on a scheduled rule;
/// locally the drop-folder watcher already rescans incoming/ every second.
/// </summary>
public sealed partial class IncomingSweep(BatchJobRunner runner, IncomingSweepOptions options, TimeProvider? time = null, ILogger<IncomingSweep>? logger = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ILogger _logger = logger ?? (ILogger)NullLogger.Instance;

    /// <param name="deadline">When the invocation ends, passed on to each run; null when the host sets none.</param>
    public async Task<SweepSummary> RunAsync(DateTimeOffset? deadline, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var started = _time.GetUtcNow();
        var stopAt = started + options.TimeBudget;
        if (deadline is { } end && end < stopAt)
        {
            stopAt = end;
        }

        var cutoff = started - options.OlderThan;
        int listed = 0, old = 0, scored = 0, alreadyScored = 0, failed = 0, willRetry = 0;
        var complete = true;
        await foreach (var item in runner.Store.ListAsync(BatchKey.Incoming + "/", cancellationToken).ConfigureAwait(false))
        {
            listed++;
            if (item.LastModified > cutoff || BatchKey.IsAttachment(item.Key))
            {
                continue;
            }

            if (scored + failed + willRetry >= options.MaxFiles || _time.GetUtcNow() >= stopAt)
            {
                complete = false;
                break;
            }

            old++;
            var outcome = await runner.ProcessAsync(item.Key, deadline, cancellationToken).ConfigureAwait(false);
            switch (outcome.Kind)
            {
                case BatchOutcomeKind.Scored:
                    scored++;
                    break;
                case BatchOutcomeKind.AlreadyScored or BatchOutcomeKind.Ignored:
                    alreadyScored++;
                    break;
                case BatchOutcomeKind.Failed:
                    failed++;
                    break;
                default:
                    willRetry++;
                    break;
            }
        }

        var summary = new SweepSummary(listed, old, scored, alreadyScored, failed, willRetry, complete);
        LogSwept(_logger, summary.Listed, summary.Old, summary.Scored, summary.AlreadyScored, summary.Failed, summary.WillRetry, summary.Complete);
        return summary;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Swept incoming/: {Listed} listed, {Old} old enough, {Scored} scored, {AlreadyScored} already scored, {Failed} set aside, {WillRetry} to retry; complete: {Complete}")]
    private static partial void LogSwept(ILogger logger, int listed, int old, int scored, int alreadyScored, int failed, int willRetry, bool complete);
}

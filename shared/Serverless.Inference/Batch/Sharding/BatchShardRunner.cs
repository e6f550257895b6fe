using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Serverless.Inference.Hosting;

namespace Serverless.Inference.Batch.Sharding;

/// <summary>
/// Scores one shard of a planned file, on whichever instance the platform's queue delivers it to: reads only the
/// shard's byte range of the pinned input (plus the CSV header), publishes a create-only part, and, when its part was
/// the last one missing, merges the parts once: a create-only claim picks one merger among racers, the parts are
/// composed in order by the store (server-side where it can), the summary is added up over the shards, and the run's
/// folder is cleaned up. Deliveries are at least once: a shard whose part exists is not scored again.
/// </summary>
public sealed partial class BatchShardRunner
{
    private readonly IBatchStore _store;
    private readonly ModelHost _host;
    private readonly BatchRunnerOptions _options;
    private readonly TimeProvider _time;
    private readonly BatchFiles _files;
    private readonly BatchJobRunner _jobs;
    private readonly ILogger _logger;

    public BatchShardRunner(IBatchStore store, ModelHost host, BatchRunnerOptions options, ILogger<BatchShardRunner>? logger = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _store = store;
        _host = host;
        _options = options;
        _time = time ?? TimeProvider.System;
        _files = new BatchFiles(store, _time, options.WorkDirectory);
        _jobs = new BatchJobRunner(store, host, options, null, _time);
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    /// <param name="messageBody">The queue message, as <see cref="ShardMessage.ToJson"/> wrote it.</param>
    /// <param name="deadline">When the platform ends the invocation: a shard the deadline stops counts as an attempt.</param>
    /// <param name="cancellationToken">The host shutting down: nobody's failure, rethrown.</param>
    public async Task<ShardOutcome> ProcessAsync(string messageBody, DateTimeOffset? deadline, CancellationToken cancellationToken)
    {
        ShardMessage message;
        try
        {
            message = ShardMessage.Parse(messageBody);
        }
        catch (ShardMessageException e)
        {
            LogDeadLetter(_logger, e.Message);
            return new ShardOutcome(ShardOutcomeKind.DeadLetter, e.Message);
        }

        var keys = ShardKeys.FromPlan(message.Plan);
        if (keys is null)
        {
            return DeadLetter($"'{message.Plan}' does not name a run's plan");
        }

        ShardPlan? plan;
        try
        {
            plan = await ShardPlan.ReadAsync(_store, keys.Plan, cancellationToken).ConfigureAwait(false);
        }
        catch (FormatException e)
        {
            return DeadLetter($"'{message.Plan}' is not a plan: {e.Message}");
        }

        if (plan is null)
        {
            // A late delivery after the merge (or the failure) cleaned up finds the result (or the marker); anything else names no job.
            return await _store.StatAsync(keys.ResultsKey, cancellationToken).ConfigureAwait(false) is not null
                || await _store.StatAsync(keys.FailedMarker, cancellationToken).ConfigureAwait(false) is not null
                ? new ShardOutcome(ShardOutcomeKind.AlreadyDone)
                : DeadLetter($"no job: '{message.Plan}' does not exist");
        }

        if (message.Shard >= plan.Shards.Count)
        {
            return DeadLetter($"the plan '{message.Plan}' has {plan.Shards.Count} shards; there is no shard {message.Shard}");
        }

        if (await _store.StatAsync(keys.FailedMarker, cancellationToken).ConfigureAwait(false) is not null
            || await _store.StatAsync(keys.ResultsKey, cancellationToken).ConfigureAwait(false) is not null)
        {
            return new ShardOutcome(ShardOutcomeKind.AlreadyDone);
        }

        var scored = false;
        if (await _store.StatAsync(keys.Part(message.Shard), cancellationToken).ConfigureAwait(false) is null)
        {
            var failure = await ScoreShardAsync(plan, keys, message.Shard, deadline, cancellationToken).ConfigureAwait(false);
            if (failure is not null)
            {
                return failure;
            }

            scored = true;
        }

        var merged = await MergeIfCompleteAsync(plan, keys, cancellationToken).ConfigureAwait(false);
        return new ShardOutcome(scored ? ShardOutcomeKind.Scored : ShardOutcomeKind.AlreadyDone, Merged: merged);
    }

    /// <returns>Null when the part was published (by this delivery or a racing one); otherwise what to tell the platform.</returns>
    private async Task<ShardOutcome?> ScoreShardAsync(ShardPlan plan, ShardKeys keys, int shard, DateTimeOffset? deadline, CancellationToken cancellationToken)
    {
        using var work = InvocationDeadline.Start(deadline, _options.DeadlineReserve, _time, cancellationToken);
        if (work is null)
        {
            return new ShardOutcome(ShardOutcomeKind.WillRetry, "not started: the invocation's deadline was too close");
        }

        string error;
        var permanent = false;
        try
        {
            await ScoreAndPublishAsync(plan, keys, shard, work.Token).ConfigureAwait(false);
            return null;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException) when (work.Reached)
        {
            error = $"shard {shard} stopped at the invocation's deadline after {work.Elapsed.TotalSeconds:F0} s; set a smaller batch.rows_per_shard for this model";
        }
        catch (BatchObjectChangedException)
        {
            // Never a mix of two contents: the run ends here, and the new content, under its own identity, gets its own.
            return await FailShardAsync(plan, keys, shard, $"the input changed while its shards were scored (it was {plan.InputIdentity}); the new content is scored by its own run", permanent: true, setAside: false, cancellationToken).ConfigureAwait(false);
        }
        catch (ModelChangedException e)
        {
            (error, permanent) = (e.Message, true);
        }
#pragma warning disable CA1031 // Any failure counts as an attempt of this shard: after the last one the file fails as a whole.
        catch (Exception e)
#pragma warning restore CA1031
        {
            error = e is InferenceException or IOException or JsonException ? e.Message : $"unexpected {e.GetType().Name}: {e.Message}";
            LogShardFailed(_logger, e, plan.Input, shard);
        }

        return await FailShardAsync(plan, keys, shard, error, permanent, setAside: true, cancellationToken).ConfigureAwait(false);
    }

    private async Task ScoreAndPublishAsync(ShardPlan plan, ShardKeys keys, int shard, CancellationToken cancellationToken)
    {
        using var model = await _host.AcquireAsync(plan.Model, plan.ModelVersion, cancellationToken).ConfigureAwait(false);
        if (model.Identity != plan.ModelIdentity)
        {
            throw new ModelChangedException($"model '{plan.Model}' version {plan.ModelVersion} changed while the shards were scored (planned with {plan.ModelIdentity}, now {model.Identity}); drop the file again to score it with the new model");
        }

        var scorer = new BatchScorer(model, _options.Scoring with { Attachments = _options.Scoring.Attachments ?? new StoreAttachments(_store, StoreAttachments.DefaultMaxBytes) }, _time);
        var temporary = Path.Combine(_options.WorkDirectory, $"shard-{Guid.NewGuid():N}.{plan.Format.Extension()}");
        await using var part = new FileStream(temporary, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
        var summary = await ShardScoring.ScoreAsync(_store, plan, shard, scorer, part, null, cancellationToken).ConfigureAwait(false);
        part.Position = 0;
        if (!await _store.CreateAsync(keys.Part(shard), part, cancellationToken).ConfigureAwait(false))
        {
            // A racing delivery of the same shard published first; its part is as good as this one.
            LogRacingPart(_logger, plan.Input, shard);
            return;
        }

        using var summaryJson = new MemoryStream(summary.ToJson());
        await _store.CreateAsync(keys.PartSummary(shard), summaryJson, cancellationToken).ConfigureAwait(false);
        LogShardScored(_logger, plan.Input, shard, plan.Shards.Count, summary.RowsIn, summary.RowsPerSecond);
    }

    /// <param name="setAside">Move the input to failed/: not when it was replaced, as the key now holds new content.</param>
    private async Task<ShardOutcome> FailShardAsync(ShardPlan plan, ShardKeys keys, int shard, string error, bool permanent, bool setAside, CancellationToken cancellationToken)
    {
        try
        {
            var attempts = await _files.ReadAttemptsAsync(keys.PartAttempts(shard), cancellationToken).ConfigureAwait(false) + 1;
            if (!permanent && attempts < _options.MaxAttempts)
            {
                await _files.WriteAttemptsAsync(keys.PartAttempts(shard), attempts, cancellationToken).ConfigureAwait(false);
                LogShardRetry(_logger, plan.Input, shard, attempts, _options.MaxAttempts, error);
                return new ShardOutcome(ShardOutcomeKind.WillRetry, error);
            }

            // The marker first: deliveries of the other shards stop as soon as it exists.
            var document = _files.ErrorDocument(plan.Input, plan.InputIdentity, $"shard {shard} of {plan.Shards.Count}: {error}", attempts, null);
            await _store.CreateAsync(keys.FailedMarker, new MemoryStream(document), cancellationToken).ConfigureAwait(false);
            var key = BatchKey.TryParse(plan.Input, out _) ?? throw new BatchStoreException($"the plan names an input outside the layout: {plan.Input}");
            if (setAside)
            {
                await _jobs.SetAsideAsync(key, plan.PinnedInput, $"shard {shard} of {plan.Shards.Count} (lines from {plan.Shards[shard].FirstLine}) failed {attempts} time(s): {error}", cancellationToken).ConfigureAwait(false);
            }

            await CleanUpAsync(keys, keepFailedMarker: true, cancellationToken).ConfigureAwait(false);
            LogJobFailed(_logger, plan.Input, shard, error);
            return new ShardOutcome(ShardOutcomeKind.JobFailed, error);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (BatchStoreException e)
        {
            // Not even the failure could be written: the platform delivers the message again.
            return new ShardOutcome(ShardOutcomeKind.WillRetry, $"{error}; and the failure could not be recorded: {e.Message}");
        }
    }

    /// <returns>The merged results' key when this delivery published them; null when parts are missing or another merger has it.</returns>
    private async Task<string?> MergeIfCompleteAsync(ShardPlan plan, ShardKeys keys, CancellationToken cancellationToken)
    {
        var parts = new BatchObject?[plan.Shards.Count];
        var done = 0;
        var records = 0L;
        await foreach (var item in _store.ListAsync(keys.Folder, cancellationToken).ConfigureAwait(false))
        {
            if (keys.ShardOfPart(item.Key) is { } shard && shard < parts.Length && parts[shard] is null)
            {
                parts[shard] = item;
                done++;
                records += plan.Shards[shard].Records;
            }
        }

        await ShardProgress.WriteAsync(_store, plan, keys, done, records, _time, cancellationToken).ConfigureAwait(false);
        if (done < parts.Length || !await ClaimMergeAsync(keys, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        if (await _store.ComposeAsync(keys.ResultsKey, [.. parts.Select(part => part!)], cancellationToken).ConfigureAwait(false))
        {
            var summary = await AddUpAsync(plan, keys, cancellationToken).ConfigureAwait(false);
            using var json = new MemoryStream(summary.ToJson());
            await _store.CreateAsync(keys.SummaryKey, json, cancellationToken).ConfigureAwait(false);
            LogMerged(_logger, plan.Input, plan.Shards.Count, summary.RowsIn, summary.Duration.TotalSeconds, keys.ResultsKey);
        }

        await CleanUpAsync(keys, keepFailedMarker: false, cancellationToken).ConfigureAwait(false);
        return keys.ResultsKey;
    }

    /// <summary>One merger: a create-only claim; a claim older than the merge timeout belonged to a merger that died.</summary>
    private async Task<bool> ClaimMergeAsync(ShardKeys keys, CancellationToken cancellationToken)
    {
        var claim = Encoding.UTF8.GetBytes(_time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture));
        if (await _store.CreateAsync(keys.Claim, new MemoryStream(claim), cancellationToken).ConfigureAwait(false))
        {
            return true;
        }

        if (await _store.StatAsync(keys.Claim, cancellationToken).ConfigureAwait(false) is { } held
            && _time.GetUtcNow() - held.LastModified > _options.Sharding.MergeTimeout
            && await _store.DeleteAsync(held, cancellationToken).ConfigureAwait(false))
        {
            return await _store.CreateAsync(keys.Claim, new MemoryStream(claim), cancellationToken).ConfigureAwait(false);
        }

        return false;
    }

    /// <summary>The file's summary from its parts': rows and model time added up, the wall time of the whole job.</summary>
    private async Task<BatchSummary> AddUpAsync(ShardPlan plan, ShardKeys keys, CancellationToken cancellationToken)
    {
        var summaries = new List<BatchSummary>(plan.Shards.Count);
        for (var shard = 0; shard < plan.Shards.Count; shard++)
        {
            if (await _store.StatAsync(keys.PartSummary(shard), cancellationToken).ConfigureAwait(false) is not { } stat)
            {
                throw new BatchStoreException($"shard {shard}'s summary is missing although its part exists");
            }

            await using var stream = await _store.OpenReadAsync(stat, cancellationToken).ConfigureAwait(false);
            using var bytes = new MemoryStream((int)stat.Length);
            await stream.CopyToAsync(bytes, cancellationToken).ConfigureAwait(false);
            summaries.Add(BatchSummary.Parse(bytes.GetBuffer().AsSpan(0, (int)bytes.Length)));
        }

        return BatchSummary.AddUp(summaries, plan.CreatedAt, _time.GetUtcNow()) with { Output = keys.ResultsKey };
    }

    /// <summary>Removes the run's folder (parts, their summaries and counters, plan, claim, progress); best effort.</summary>
    private async Task CleanUpAsync(ShardKeys keys, bool keepFailedMarker, CancellationToken cancellationToken)
    {
        var leftovers = new List<BatchObject>();
        await foreach (var item in _store.ListAsync(keys.Folder, cancellationToken).ConfigureAwait(false))
        {
            if (!(keepFailedMarker && item.Key == keys.FailedMarker))
            {
                leftovers.Add(item);
            }
        }

        // The plan last: while it exists, a late delivery learns the job's state from it.
        foreach (var item in leftovers.OrderBy(item => item.Key == keys.Plan))
        {
            try
            {
                await _store.DeleteAsync(item, cancellationToken).ConfigureAwait(false);
            }
            catch (BatchStoreException e)
            {
                LogCleanUpFailed(_logger, item.Key, e.Message);
            }
        }
    }

    private ShardOutcome DeadLetter(string reason)
    {
        LogDeadLetter(_logger, reason);
        return new ShardOutcome(ShardOutcomeKind.DeadLetter, reason);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Shard message dead-lettered: {Reason}")]
    private static partial void LogDeadLetter(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Scored shard {Shard} of {Shards} of {Input}: {Rows} rows, {RowsPerSecond:F0} rows/s")]
    private static partial void LogShardScored(ILogger logger, string input, int shard, int shards, long rows, double rowsPerSecond);

    [LoggerMessage(Level = LogLevel.Information, Message = "Shard {Shard} of {Input} was published by a racing delivery first; this one's part is dropped")]
    private static partial void LogRacingPart(ILogger logger, string input, int shard);

    [LoggerMessage(Level = LogLevel.Error, Message = "Shard {Shard} of {Input} failed with an unexpected error")]
    private static partial void LogShardFailed(ILogger logger, Exception exception, string input, int shard);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shard {Shard} of {Input} failed (attempt {Attempt} of {MaxAttempts}): {Error}")]
    private static partial void LogShardRetry(ILogger logger, string input, int shard, int attempt, int maxAttempts, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Batch input {Input} failed as a whole: shard {Shard}: {Error}")]
    private static partial void LogJobFailed(ILogger logger, string input, int shard, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Merged {Shards} shards of {Input}: {Rows} rows in {Seconds:F1} s -> {Results}")]
    private static partial void LogMerged(ILogger logger, string input, int shards, long rows, double seconds, string results);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not clean up {Key}: {Error}")]
    private static partial void LogCleanUpFailed(ILogger logger, string key, string error);

    /// <summary>The model a plan names is no longer the one it was planned with: scoring on would mix two models' results.</summary>
    private sealed class ModelChangedException(string message) : Exception(message);
}

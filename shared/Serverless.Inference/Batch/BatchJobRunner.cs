using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Serverless.Inference.Batch.Sharding;
using Serverless.Inference.Hosting;
using Serverless.Inference.Repository;
using Serverless.Inference.Telemetry;

namespace Serverless.Inference.Batch;

/// <summary>
/// The batch contract, the same on every store: an input already scored for the same input and model identities is
/// skipped; results are published create-only so racing runs leave one; a file that fails as a whole is retried a
/// bounded number of times (at once, for an error no retry can change) and then moved to failed/ with an error
/// document; a refused file name is set aside too, or logged and counted where the store cannot even hold it. The
/// runner keeps no state between calls: one instance serves every invocation.
/// </summary>
public sealed partial class BatchJobRunner
{
    private readonly IBatchStore _store;
    private readonly ModelHost _host;
    private readonly BatchRunnerOptions _options;
    private readonly TimeProvider _time;
    private readonly BatchFiles _files;
    private readonly IShardQueue? _shards;
    private readonly ILogger _logger;

    /// <param name="shards">Where the shards of a file too big for one invocation go; without it every file is scored where it arrives.</param>
    public BatchJobRunner(IBatchStore store, ModelHost host, BatchRunnerOptions options, ILogger<BatchJobRunner>? logger = null, TimeProvider? time = null, IShardQueue? shards = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _store = store;
        _host = host;
        _options = options;
        _shards = shards;
        _time = time ?? TimeProvider.System;
        _files = new BatchFiles(store, _time, options.WorkDirectory);
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    public IBatchStore Store => _store;

    public Task<BatchOutcome> ProcessAsync(string key, CancellationToken cancellationToken) => ProcessAsync(key, null, cancellationToken);

    /// <param name="deadline">When the platform ends the invocation (Lambda's deadline, a function timeout). A run the
    /// deadline stops counts as an attempt: a file too big for the timeout ends in failed/ instead of being redelivered
    /// for ever. <paramref name="cancellationToken"/> is the host shutting down: that is nobody's failure and is rethrown.</param>
    public async Task<BatchOutcome> ProcessAsync(string key, DateTimeOffset? deadline, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (BatchKey.IsAttachment(key))
        {
            return new BatchOutcome(BatchOutcomeKind.Ignored, key);
        }

        var batchKey = BatchKey.TryParse(key, out var problem);
        if (batchKey is null)
        {
            return await RefuseAsync(key, problem!, cancellationToken).ConfigureAwait(false);
        }

        BatchObject? input;
        try
        {
            input = await _store.StatAsync(key, cancellationToken).ConfigureAwait(false);
        }
        catch (BatchStoreException e)
        {
            return Unrecorded(key, "the input could not be checked", e);
        }

        if (input is null)
        {
            return new BatchOutcome(BatchOutcomeKind.AlreadyScored, key, Error: "the input no longer exists (already moved or deleted)");
        }

        using var work = InvocationDeadline.Start(deadline, _options.DeadlineReserve, _time, cancellationToken);
        if (work is null)
        {
            LogNotStarted(_logger, key);
            return new BatchOutcome(BatchOutcomeKind.WillRetry, key, Error: "not started: the invocation's deadline was too close");
        }

        string error;
        var permanent = false;
        try
        {
            return await ScoreAsync(batchKey, input, work.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException) when (work.Reached)
        {
            error = $"stopped at the invocation's deadline after {work.Elapsed.TotalSeconds:F0} s; a file this large needs a longer timeout or to be split";
        }
        catch (UnsupportedBatchFileException e)
        {
            (error, permanent) = (e.Message, true);
        }
#pragma warning disable CA1031 // Any failure counts as an attempt: a file that throws something unforeseen must still end in failed/.
        catch (Exception e)
#pragma warning restore CA1031
        {
            error = e is InferenceException or IOException or JsonException or UnauthorizedAccessException
                ? e.Message
                : $"unexpected {e.GetType().Name}: {e.Message}";
            // Retrying cannot make an unknown model known: the file is set aside now, and dropped again once the model is there.
            permanent = e is InferenceException { Kind: InferenceErrorKind.NotFound };
            if (e is not (InferenceException or JsonException or BatchStoreException))
            {
                LogUnexpected(_logger, e, input.Key);
            }
            else if (e is BatchStoreException { Detail: { } detail })
            {
                LogStoreDetail(_logger, input.Key, detail);
            }
        }

        try
        {
            return await FailAsync(batchKey, input, error, permanent, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
#pragma warning disable CA1031 // Whatever stops the failure from being recorded is reported, never thrown at the platform.
        catch (Exception e)
#pragma warning restore CA1031
        {
            return Unrecorded(key, error, e);
        }
    }

    private async Task<BatchOutcome> ScoreAsync(BatchKey key, BatchObject input, CancellationToken cancellationToken)
    {
        var format = BatchFormats.FromFileName(key.FileName)
            ?? throw new UnsupportedBatchFileException($"'{key.FileName}' is neither .csv nor .jsonl/.ndjson/.json");
        using var model = await _host.AcquireAsync(key.Model, key.Version, cancellationToken).ConfigureAwait(false);
        var run = BatchKey.Short(input.Identity + "\n" + model.Identity);
        var resultsKey = key.ResultsKey(run, format);
        if (await _store.StatAsync(resultsKey, cancellationToken).ConfigureAwait(false) is not null)
        {
            LogAlreadyScored(_logger, input.Key, model.Name, model.Version, resultsKey);
            return new BatchOutcome(BatchOutcomeKind.AlreadyScored, input.Key, resultsKey);
        }

        // Keys in <input>_key columns name objects in this same store.
        var scorer = new BatchScorer(model, _options.Scoring with { Attachments = _options.Scoring.Attachments ?? new StoreAttachments(_store, StoreAttachments.DefaultMaxBytes) }, _time);
        if (_shards is not null && input.Length > _options.Sharding.MinBytes
            && await FanOutAsync(key, input, model, run, format, scorer.MicroBatchSize, cancellationToken).ConfigureAwait(false) is { } sharded)
        {
            return sharded;
        }

        var temporary = Path.Combine(_options.WorkDirectory, $"batch-{Guid.NewGuid():N}.{format.Extension()}");
        await using var results = new FileStream(temporary, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
        BatchSummary summary;
        // Pinned: if the input changes while it streams, the read fails and nothing is published under its old identity.
        await using (var source = await _store.OpenReadAsync(input, cancellationToken).ConfigureAwait(false))
        {
            summary = await scorer.ScoreAsync(source, results, new BatchJob(input.Key, input.Identity, format), null, cancellationToken).ConfigureAwait(false);
        }

        summary = summary with { Output = resultsKey };
        results.Position = 0;
        if (!await _store.CreateAsync(resultsKey, results, cancellationToken).ConfigureAwait(false))
        {
            LogLostRace(_logger, input.Key);
            return new BatchOutcome(BatchOutcomeKind.AlreadyScored, input.Key, resultsKey);
        }

        using var summaryJson = new MemoryStream(summary.ToJson());
        await _store.CreateAsync(key.SummaryKey(run), summaryJson, cancellationToken).ConfigureAwait(false);
        LogScored(_logger, input.Key, model.Name, model.Version, summary.RowsIn, summary.RowsFailed, summary.RowsPerSecond, resultsKey);
        return new BatchOutcome(BatchOutcomeKind.Scored, input.Key, resultsKey, summary);
    }

    /// <summary>
    /// Plans a big file into shards (once; a later delivery finds the plan) and sends one message per shard still
    /// without a part. A delivery while the run is alive (its progress written within the merge timeout) sends nothing:
    /// only a stalled run, whose messages were lost or whose merger died, is sent again.
    /// </summary>
    /// <returns>Null when the file turns out to fit one shard: it is scored here, as a small one is.</returns>
    private async Task<BatchOutcome?> FanOutAsync(BatchKey key, BatchObject input, ModelLease model, string run, BatchFormat format, int microBatch, CancellationToken cancellationToken)
    {
        var keys = ShardKeys.For(key, run, format);
        var plan = await ShardPlan.ReadAsync(_store, keys.Plan, cancellationToken).ConfigureAwait(false);
        if (plan is not null)
        {
            if (await _store.StatAsync(keys.Progress, cancellationToken).ConfigureAwait(false) is { } progress
                && _time.GetUtcNow() - progress.LastModified < _options.Sharding.MergeTimeout)
            {
                return new BatchOutcome(BatchOutcomeKind.Sharded, input.Key, keys.ResultsKey);
            }
        }
        else
        {
            var sharding = model.Manifest.Batch;
            plan = await ShardScoring.PlanAsync(
                _store, input, model, format, microBatch,
                sharding?.RowsPerShard ?? _options.Sharding.RowsPerShard,
                sharding?.BytesPerShard ?? _options.Sharding.BytesPerShard,
                _options.Scoring.MaxRecordBytes,
                _time.GetUtcNow(),
                cancellationToken).ConfigureAwait(false);
            if (plan is null)
            {
                return null;
            }

            if (!await _store.CreateAsync(keys.Plan, new MemoryStream(plan.ToJson()), cancellationToken).ConfigureAwait(false))
            {
                // A racing delivery planned first: its plan is the one the workers read.
                plan = await ShardPlan.ReadAsync(_store, keys.Plan, cancellationToken).ConfigureAwait(false)
                    ?? throw new BatchStoreException($"{keys.Plan} was taken and then gone");
            }
        }

        var done = new HashSet<int>();
        await foreach (var item in _store.ListAsync(keys.Folder, cancellationToken).ConfigureAwait(false))
        {
            if (keys.ShardOfPart(item.Key) is { } shard)
            {
                done.Add(shard);
            }
        }

        // Every part there but no result: one message, whose delivery finds the parts complete and merges them.
        var missing = Enumerable.Range(0, plan.Shards.Count).Where(shard => !done.Contains(shard)).DefaultIfEmpty(0).ToList();
        await _shards!.SendAsync([.. missing.Select(shard => new ShardMessage(keys.Plan, shard))], cancellationToken).ConfigureAwait(false);
        await ShardProgress.WriteAsync(_store, plan, keys, done.Count, plan.Shards.Where((_, i) => done.Contains(i)).Sum(s => s.Records), _time, cancellationToken).ConfigureAwait(false);
        LogFannedOut(_logger, input.Key, plan.Shards.Count, missing.Count, plan.Records);
        return new BatchOutcome(BatchOutcomeKind.Sharded, input.Key, keys.ResultsKey);
    }

    /// <summary>A file that failed for good (a shard out of attempts): moved to failed/ with its error document.</summary>
    internal Task<BatchOutcome> SetAsideAsync(BatchKey key, BatchObject input, string error, CancellationToken cancellationToken) =>
        FailAsync(key, input, error, permanent: true, cancellationToken);

    private async Task<BatchOutcome> FailAsync(BatchKey key, BatchObject input, string error, bool permanent, CancellationToken cancellationToken)
    {
        var attemptsKey = key.AttemptsKey(input.Identity);
        var attempts = await _files.ReadAttemptsAsync(attemptsKey, cancellationToken).ConfigureAwait(false) + 1;
        if (!permanent && attempts < _options.MaxAttempts)
        {
            await _files.WriteAttemptsAsync(attemptsKey, attempts, cancellationToken).ConfigureAwait(false);
            LogWillRetry(_logger, input.Key, attempts, _options.MaxAttempts, error);
            return new BatchOutcome(BatchOutcomeKind.WillRetry, input.Key, Error: error);
        }

        string? movedTo = null;
        string? moveError = null;
        try
        {
            (movedTo, _) = await _files.MoveAsync(input, key.FailedKey, cancellationToken).ConfigureAwait(false);
        }
        catch (BatchObjectChangedException)
        {
            // Replaced while it failed: the new content brings its own delivery, and the old one is gone.
            LogChangedWhileFailing(_logger, input.Key);
            return new BatchOutcome(BatchOutcomeKind.WillRetry, input.Key, Error: error);
        }
        catch (BatchStoreException e)
        {
            // The input cannot be copied (unreadable, say): it stays where it is, and the error document says so.
            moveError = e.Message;
            await _files.WriteAttemptsAsync(attemptsKey, attempts, cancellationToken).ConfigureAwait(false);
        }

        using var document = new MemoryStream(_files.ErrorDocument(input.Key, input.Identity, error, attempts, movedTo, moveError));
        if (movedTo is not null)
        {
            await _files.CreateUniqueAsync(movedTo + ".error.json", document, cancellationToken).ConfigureAwait(false);
            // The same content dropped again later (say, after the model is fixed) starts with a clean count.
            await _files.WriteAttemptsAsync(attemptsKey, 0, cancellationToken).ConfigureAwait(false);
            LogSetAside(_logger, input.Key, attempts, movedTo, error);
        }
        else
        {
            // One document for an input that cannot be moved, however often it is delivered again.
            await _store.CreateAsync(key.FailedKey + ".error.json", document, cancellationToken).ConfigureAwait(false);
            LogNotMovable(_logger, input.Key, attempts, error, moveError!);
        }

        return new BatchOutcome(BatchOutcomeKind.Failed, input.Key, Error: error);
    }

    /// <summary>
    /// A key outside the name rule or the layout: moved to <c>failed/_refused/</c> with a document naming the key and the
    /// rule when the store can hold and read it, else logged (escaped) and counted.
    /// </summary>
    private async Task<BatchOutcome> RefuseAsync(string key, string problem, CancellationToken cancellationToken)
    {
        try
        {
            // Only inputs are set aside: a key elsewhere (a result, a failed file) delivered here by mistake is left alone.
            if (!key.StartsWith(BatchKey.Incoming + "/", StringComparison.Ordinal)
                || await _store.StatAsync(key, cancellationToken).ConfigureAwait(false) is not { } input)
            {
                LogRefusedInPlace(_logger, Escaped(key), problem, "not an input or not there");
                return new BatchOutcome(BatchOutcomeKind.Failed, key, Error: problem);
            }

            var (movedTo, _) = await _files.MoveAsync(input, BatchKey.RefusedKey(key), cancellationToken).ConfigureAwait(false);
            using var document = new MemoryStream(_files.ErrorDocument(key, input.Identity, problem, 1, movedTo));
            await _files.CreateUniqueAsync(movedTo + ".error.json", document, cancellationToken).ConfigureAwait(false);
            InferenceTelemetry.BatchRefused.Add(1, new KeyValuePair<string, object?>("recorded", "failed"));
            LogRefusedMoved(_logger, ModelNames.Printable(key), problem, movedTo);
        }
        catch (BatchStoreException e)
        {
            InferenceTelemetry.BatchRefused.Add(1, new KeyValuePair<string, object?>("recorded", "log"));
            LogRefusedInPlace(_logger, Escaped(key), problem, e.Message);
        }

        return new BatchOutcome(BatchOutcomeKind.Failed, key, Error: problem);
    }

    /// <summary>Not even the failure could be written: the log and a metric say so, and the platform should deliver it again.</summary>
    private BatchOutcome Unrecorded(string key, string error, Exception e)
    {
        InferenceTelemetry.BatchUnrecorded.Add(1);
        LogUnrecorded(_logger, e, Escaped(key), error, e.Message, (e as BatchStoreException)?.Detail);
        return new BatchOutcome(BatchOutcomeKind.WillRetry, key, Error: $"{error}: {e.Message}");
    }

    /// <summary>The key as JSON would escape it: control characters and odd code points visible and harmless in a log line.</summary>
    private static string Escaped(string key) => JsonEncodedText.Encode(key.Length > 300 ? key[..300] : key).ToString();

    [LoggerMessage(Level = LogLevel.Information, Message = "Batch input {Key} fanned out: {Shards} shards planned ({Records} records), {Sent} sent")]
    private static partial void LogFannedOut(ILogger logger, string key, int shards, int sent, long records);

    [LoggerMessage(Level = LogLevel.Information, Message = "Batch input {Key} already scored by {Model} {Version} at {Results}")]
    private static partial void LogAlreadyScored(ILogger logger, string key, string model, string version, string results);

    [LoggerMessage(Level = LogLevel.Information, Message = "Batch input {Key} was scored by a racing run first; this run's results are dropped")]
    private static partial void LogLostRace(ILogger logger, string key);

    [LoggerMessage(Level = LogLevel.Information, Message = "Scored {Key} with {Model} {Version}: {Rows} rows, {Failed} failed, {RowsPerSecond:F0} rows/s -> {Results}")]
    private static partial void LogScored(ILogger logger, string key, string model, string version, long rows, long failed, double rowsPerSecond, string results);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Batch input {Key} failed (attempt {Attempt} of {MaxAttempts}): {Error}")]
    private static partial void LogWillRetry(ILogger logger, string key, int attempt, int maxAttempts, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Batch input {Key} failed after {Attempts} attempt(s) and was moved to {FailedKey}: {Error}")]
    private static partial void LogSetAside(ILogger logger, string key, int attempts, string failedKey, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Batch input {Key} failed after {Attempts} attempt(s) and cannot be moved, so it stays; its error document says why: {Error}; {MoveError}")]
    private static partial void LogNotMovable(ILogger logger, string key, int attempts, string error, string moveError);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Batch input {Key} changed while it was being set aside; its new content is left to its own delivery")]
    private static partial void LogChangedWhileFailing(ILogger logger, string key);

    [LoggerMessage(Level = LogLevel.Error, Message = "Batch input {Key} failed with an unexpected error")]
    private static partial void LogUnexpected(ILogger logger, Exception exception, string key);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Batch input {Key}: the store reported {Detail}")]
    private static partial void LogStoreDetail(ILogger logger, string key, string detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Batch input {Key} not started: the invocation's deadline is too close; it is left for another delivery")]
    private static partial void LogNotStarted(ILogger logger, string key);

    [LoggerMessage(Level = LogLevel.Error, Message = "Batch input {Key} refused and moved to {RefusedKey}: {Problem}")]
    private static partial void LogRefusedMoved(ILogger logger, string key, string problem, string refusedKey);

    [LoggerMessage(Level = LogLevel.Error, Message = "Batch input {EscapedKey} refused and left where it is, as the store cannot move it ({StoreError}): {Problem}")]
    private static partial void LogRefusedInPlace(ILogger logger, string escapedKey, string problem, string storeError);

    [LoggerMessage(Level = LogLevel.Error, Message = "Batch input {EscapedKey}: {Error}, and the failure could not be recorded ({StoreError}; {Detail}); it is left for another delivery")]
    private static partial void LogUnrecorded(ILogger logger, Exception exception, string escapedKey, string error, string storeError, string? detail);
}

using System.Buffers;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Serverless.Inference.Batch;
using Serverless.Inference.Hosting;
using Serverless.Inference.Protocol;
using Serverless.Inference.Telemetry;

namespace Serverless.Inference.Streaming;

/// <summary>
/// The streaming policy, once for every transport: a batch is scored in runs of the manifest's
/// <c>max_records_per_run</c> records, in order; for each run the partition keys' state is saved (compare-and-swap), the
/// predictions object is created (create-only: a run delivered again finds it and counts duplicates), the alerts are
/// sent and a marker records that they were. A run that cannot be committed stops the batch there: the runs before it
/// stay committed, and <see cref="StreamOutcome.FirstUncommitted"/> tells the source where to deliver again from.
/// </summary>
public sealed partial class StreamProcessor
{
    private readonly ModelHost _host;
    private readonly IBatchStore _store;
    private readonly IAlertSink _alerts;
    private readonly ILogger<StreamProcessor> _logger;
    private readonly TimeProvider _time;
    private readonly StreamProcessorOptions _options;
    private readonly StreamStateStore _states;

    public StreamProcessor(ModelHost host, IBatchStore store, IAlertSink alerts, ILogger<StreamProcessor> logger, TimeProvider? time = null, StreamProcessorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(alerts);
        ArgumentNullException.ThrowIfNull(logger);
        _host = host;
        _store = store;
        _alerts = alerts;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _options = options ?? new StreamProcessorOptions();
        _states = new StreamStateStore(store);
    }

    public async Task<StreamOutcome> ProcessAsync(StreamBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(batch.Records);
        var tally = new Tally(batch.Model, batch.Records.Count);
        if (batch.Records.Count == 0)
        {
            return tally.Outcome();
        }

        ModelLease lease;
        StreamScorer scorer;
        try
        {
            lease = await _host.AcquireAsync(batch.Model, batch.Version, cancellationToken).ConfigureAwait(false);
        }
        catch (InferenceException e)
        {
            return Uncommitted(tally, batch, 0, e.Message);
        }

        using (lease)
        {
            try
            {
                scorer = new StreamScorer(lease, _time);
            }
            catch (InferenceException e)
            {
                return Uncommitted(tally, batch, 0, e.Message);
            }

            using (scorer)
            {
                for (var start = 0; start < batch.Records.Count; start += scorer.RecordsPerRun)
                {
                    var run = new Run(batch, start, Math.Min(scorer.RecordsPerRun, batch.Records.Count - start));
                    try
                    {
                        await CommitAsync(run, lease, scorer, tally, cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception e) when (IsRetryable(e, cancellationToken))
                    {
                        return Uncommitted(tally, batch, start, e.Message);
                    }
                }
            }
        }

        return tally.Outcome();
    }

    /// <summary>
    /// What leaves the run for the source to deliver again: the store or the alert sink failing (the sink's exceptions are
    /// its SDK's own, so any), the model failing as a whole, the invocation running out of time. A per-record error never
    /// gets here: it is the record's result.
    /// </summary>
    private static bool IsRetryable(Exception e, CancellationToken cancellationToken) => e switch
    {
        OperationCanceledException => cancellationToken.IsCancellationRequested,
        InferenceException { Kind: InferenceErrorKind.BadRequest } => false,
        OutOfMemoryException or StackOverflowException => false,
        _ => true,
    };

    private async Task CommitAsync(Run run, ModelLease lease, StreamScorer scorer, Tally tally, CancellationToken cancellationToken)
    {
        var objectKey = StreamKeys.Predictions(lease.Name, run.Batch.Source, run.First, run.Last);
        var results = await ScoreAsync(run, objectKey, lease.Name, scorer, cancellationToken).ConfigureAwait(false);

        var created = await _store.CreateAsync(objectKey, Lines(results), cancellationToken).ConfigureAwait(false);
        _states.Committed(objectKey);
        IReadOnlyList<StreamAlert> alerts;
        var marker = StreamKeys.AlertsSent(lease.Name, run.Batch.Source, run.First, run.Last);
        if (created)
        {
            alerts = [.. results.SelectMany(result => result.Alerts)];
        }
        else
        {
            LogDuplicate(_logger, objectKey, run.Count);
            alerts = await _store.StatAsync(marker, cancellationToken).ConfigureAwait(false) is null
                ? await StoredAlertsAsync(objectKey, cancellationToken).ConfigureAwait(false)
                : [];
        }

        if (alerts.Count > 0)
        {
            await _alerts.SendAsync(alerts, cancellationToken).ConfigureAwait(false);
            tally.Sent(alerts);
            using var ids = new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(alerts.Select(alert => alert.Id).ToArray(), StreamJsonContext.Default.StringArray), writable: false);
            await _store.CreateAsync(marker, ids, cancellationToken).ConfigureAwait(false);
        }

        if (created)
        {
            tally.Scored(results);
        }
        else
        {
            tally.Duplicates(run.Count);
        }
    }

    /// <summary>Scores the run on its keys' saved state and saves the state it leaves; scores again when another writer saved first.</summary>
    private async Task<List<StreamResult>> ScoreAsync(Run run, string objectKey, string model, StreamScorer scorer, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var load = scorer.KeepsState
                ? await _states.LoadAsync(model, run.Records.Select(record => record.PartitionKey), objectKey, cancellationToken).ConfigureAwait(false)
                : null;
            var results = new List<StreamResult>(run.Count);
            await foreach (var result in scorer.ScoreAsync(run.Records, load?.State ?? new StreamState(), cancellationToken).ConfigureAwait(false))
            {
                results.Add(result);
            }

            if (load is null || await _states.SaveAsync(load, objectKey, cancellationToken).ConfigureAwait(false))
            {
                return results;
            }

            InferenceTelemetry.StreamStateConflicts.Add(1, new KeyValuePair<string, object?>("model.name", model));
            LogStateConflict(_logger, objectKey, attempt);
            if (attempt >= _options.MaxStateAttempts)
            {
                throw new StreamStateConflictException($"the state of the keys of '{objectKey}' kept being saved by other writers ({attempt} attempts)");
            }
        }
    }

    private static MemoryStream Lines(List<StreamResult> results)
    {
        var buffer = new ArrayBufferWriter<byte>(results.Count * 256);
        using (var writer = new Utf8JsonWriter(buffer, InferResponseWriter.WriterOptions))
        {
            foreach (var result in results)
            {
                result.WritePrediction(writer);
                writer.Flush();
                buffer.Write("\n"u8);
                writer.Reset(buffer);
            }
        }

        return new MemoryStream(buffer.WrittenMemory.ToArray(), writable: false);
    }

    /// <summary>The alerts a predictions object written earlier records: sent again, with the same ids, when no marker says they were sent.</summary>
    private async Task<IReadOnlyList<StreamAlert>> StoredAlertsAsync(string objectKey, CancellationToken cancellationToken)
    {
        if (await _store.StatAsync(objectKey, cancellationToken).ConfigureAwait(false) is not { } stored)
        {
            throw new BatchStoreException($"'{objectKey}' exists but could not be found again");
        }

        var alerts = new List<StreamAlert>();
        await using var content = await _store.OpenReadAsync(stored, cancellationToken).ConfigureAwait(false);
        using var reader = new StreamReader(content);
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            if (!root.TryGetProperty("alerts", out var rules))
            {
                continue;
            }

            var prediction = root.TryGetProperty("outputs", out var outputs) ? outputs : root.GetProperty("response");
            var (model, version) = (root.GetProperty("model").GetString()!, root.GetProperty("version").GetString()!);
            var (key, position) = (root.GetProperty("key").GetString()!, root.GetProperty("position").GetString()!);
            foreach (var rule in rules.EnumerateArray().Select(r => r.GetString()!))
            {
                alerts.Add(new StreamAlert(StreamAlertIds.For(model, version, rule, key, position), model, version, rule, key, position,
                    root.GetProperty("timestamp").GetDateTimeOffset(), prediction.Clone()));
            }
        }

        return alerts;
    }

    private StreamOutcome Uncommitted(Tally tally, StreamBatch batch, int first, string error)
    {
        LogUncommitted(_logger, batch.Model, batch.Source, first, batch.Records.Count, error);
        return tally.Outcome(first, error);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Stream run {Object} was delivered before: {Records} records counted as duplicates")]
    private static partial void LogDuplicate(ILogger logger, string @object, int records);

    [LoggerMessage(Level = LogLevel.Information, Message = "Another writer saved the state of {Object}'s keys first (attempt {Attempt}); scoring again")]
    private static partial void LogStateConflict(ILogger logger, string @object, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stream batch of {Model} from {Source}: records {First} to {Count} not committed: {Error}")]
    private static partial void LogUncommitted(ILogger logger, string model, string source, int first, int count, string error);

    /// <summary>A slice of the batch committed as one predictions object.</summary>
    private sealed record Run(StreamBatch Batch, int Start, int Count)
    {
        public IReadOnlyList<StreamRecord> Records { get; } = Start == 0 && Count == Batch.Records.Count
            ? Batch.Records
            : [.. Batch.Records.Skip(Start).Take(Count)];

        public StreamRecord First => Records[0];

        public StreamRecord Last => Records[^1];
    }

    /// <summary>The counts for the outcome and the metrics.</summary>
    private sealed class Tally(string model, int records)
    {
        private int _committed;
        private int _errors;
        private int _duplicates;
        private int _alerts;

        public void Scored(List<StreamResult> results)
        {
            _committed += results.Count;
            foreach (var group in results.GroupBy(result => result.Kind))
            {
                var count = group.Count();
                if (group.Key == StreamResultKind.Error)
                {
                    _errors += count;
                }

                Count(count, group.Key switch
                {
                    StreamResultKind.Error => "error",
                    StreamResultKind.Skipped => "skipped",
                    _ => "ok",
                });
            }
        }

        public void Duplicates(int count)
        {
            _committed += count;
            _duplicates += count;
            Count(count, "duplicate");
        }

        public void Sent(IReadOnlyList<StreamAlert> alerts)
        {
            _alerts += alerts.Count;
            foreach (var alert in alerts)
            {
                InferenceTelemetry.StreamAlerts.Add(1, new KeyValuePair<string, object?>("model.name", model), new("rule", alert.Rule));
            }
        }

        public StreamOutcome Outcome(int? firstUncommitted = null, string? error = null)
        {
            if (firstUncommitted is { } first)
            {
                Count(records - first, "uncommitted");
            }

            return new StreamOutcome(records, _committed, _errors, _duplicates, _alerts, firstUncommitted, error);
        }

        private void Count(int count, string outcome) =>
            InferenceTelemetry.StreamRecords.Add(count, new KeyValuePair<string, object?>("model.name", model), new("outcome", outcome));
    }
}

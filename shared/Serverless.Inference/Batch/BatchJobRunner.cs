using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Serverless.Inference.Hosting;
using Serverless.Inference.Protocol;

namespace Serverless.Inference.Batch;

public enum BatchOutcomeKind
{
    /// <summary>Results and summary were published.</summary>
    Scored,

    /// <summary>This input was already scored by this model (a repeated or racing delivery); nothing was written.</summary>
    AlreadyScored,

    /// <summary>The file failed as a whole and will be tried again; the platform should redeliver it.</summary>
    WillRetry,

    /// <summary>The file failed as a whole too often and was set aside under failed/, or its key breaks the name rule.</summary>
    Failed,
}

public sealed record BatchOutcome(BatchOutcomeKind Kind, string Key, string? ResultsKey = null, BatchSummary? Summary = null, string? Error = null);

public sealed class BatchRunnerOptions
{
    /// <summary>Whole-file attempts before the file is moved to failed/.</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>Where results are written before they are published; on Lambda this must be under /tmp.</summary>
    public string WorkDirectory { get; set; } = Path.GetTempPath();

    public BatchOptions Scoring { get; set; } = new();
}

/// <summary>
/// The batch contract, the same on every store: an input already scored for the same input and model
/// identities is skipped; results are published create-only so racing runs leave one; a file that fails
/// as a whole is retried a bounded number of times and then moved to failed/ with an error document.
/// </summary>
public sealed class BatchJobRunner
{
    private readonly IBatchStore _store;
    private readonly ModelHost _host;
    private readonly BatchRunnerOptions _options;
    private readonly ILogger _logger;

    public BatchJobRunner(IBatchStore store, ModelHost host, BatchRunnerOptions options, ILogger<BatchJobRunner>? logger = null)
    {
        _store = store;
        _host = host;
        _options = options;
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    public async Task<BatchOutcome> ProcessAsync(string key, CancellationToken cancellationToken)
    {
        var batchKey = BatchKey.TryParse(key, out var problem);
        if (batchKey is null)
        {
            // No safe name to move it under: it stays where it is, and the log says why.
            _logger.LogError("Batch input {Key} refused: {Problem}", key, problem);
            return new BatchOutcome(BatchOutcomeKind.Failed, key, Error: problem);
        }

        var input = await _store.StatAsync(key, cancellationToken).ConfigureAwait(false);
        if (input is null)
        {
            return new BatchOutcome(BatchOutcomeKind.AlreadyScored, key, Error: "the input no longer exists (already moved or deleted)");
        }

        try
        {
            return await ScoreAsync(batchKey, input, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
#pragma warning disable CA1031 // Any failure counts as an attempt: a file that throws something unforeseen must still end in failed/.
        catch (Exception e)
#pragma warning restore CA1031
        {
            var error = e is InferenceException or IOException or JsonException or UnauthorizedAccessException
                ? e.Message
                : $"unexpected {e.GetType().Name}: {e.Message}";
            if (error != e.Message)
            {
                _logger.LogError(e, "Batch input {Key} failed with an unexpected error", input.Key);
            }

            return await FailAsync(batchKey, input, error, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<BatchOutcome> ScoreAsync(BatchKey key, BatchObject input, CancellationToken cancellationToken)
    {
        var format = BatchFormats.FromFileName(key.FileName)
            ?? throw InferenceException.BadRequest($"'{key.FileName}' is neither .csv nor .jsonl/.ndjson/.json");
        using var model = await _host.AcquireAsync(key.Model, key.Version, cancellationToken).ConfigureAwait(false);
        var run = BatchKey.Short(input.Identity + "\n" + model.Identity);
        var resultsKey = key.ResultsKey(run, format);
        if (await _store.StatAsync(resultsKey, cancellationToken).ConfigureAwait(false) is not null)
        {
            _logger.LogInformation("Batch input {Key} already scored by {Model} {Version} at {Results}", input.Key, model.Name, model.Version, resultsKey);
            return new BatchOutcome(BatchOutcomeKind.AlreadyScored, input.Key, resultsKey);
        }

        // Keys in <input>_key columns name objects in this same store.
        var scorer = new BatchScorer(model, _options.Scoring with { Attachments = _options.Scoring.Attachments ?? new StoreAttachments(_store, StoreAttachments.DefaultMaxBytes) });
        var temporary = Path.Combine(_options.WorkDirectory, $"batch-{Guid.NewGuid():N}.{format.Extension()}");
        await using var results = new FileStream(temporary, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
        BatchSummary summary;
        await using (var source = await _store.OpenReadAsync(input.Key, cancellationToken).ConfigureAwait(false))
        {
            summary = await scorer.ScoreAsync(source, results, new BatchJob(input.Key, input.Identity, format), null, cancellationToken).ConfigureAwait(false);
        }

        summary = summary with { Output = resultsKey };
        results.Position = 0;
        if (!await _store.CreateAsync(resultsKey, results, cancellationToken).ConfigureAwait(false))
        {
            _logger.LogInformation("Batch input {Key} was scored by a racing run first; this run's results are dropped", input.Key);
            return new BatchOutcome(BatchOutcomeKind.AlreadyScored, input.Key, resultsKey);
        }

        using var summaryJson = new MemoryStream(summary.ToJson());
        await _store.CreateAsync(key.SummaryKey(run), summaryJson, cancellationToken).ConfigureAwait(false);
        _logger.LogInformation(
            "Scored {Key} with {Model} {Version}: {Rows} rows, {Failed} failed, {RowsPerSecond:F0} rows/s -> {Results}",
            input.Key, model.Name, model.Version, summary.RowsIn, summary.RowsFailed, summary.RowsPerSecond, resultsKey);
        return new BatchOutcome(BatchOutcomeKind.Scored, input.Key, resultsKey, summary);
    }

    private async Task<BatchOutcome> FailAsync(BatchKey key, BatchObject input, string error, CancellationToken cancellationToken)
    {
        var attemptsKey = key.AttemptsKey(input.Identity);
        var attempts = await ReadAttemptsAsync(attemptsKey, cancellationToken).ConfigureAwait(false) + 1;
        if (attempts < _options.MaxAttempts)
        {
            await _store.WriteAsync(attemptsKey, Encoding.UTF8.GetBytes(attempts.ToString(CultureInfo.InvariantCulture)), cancellationToken).ConfigureAwait(false);
            _logger.LogWarning("Batch input {Key} failed (attempt {Attempt} of {MaxAttempts}): {Error}", input.Key, attempts, _options.MaxAttempts, error);
            return new BatchOutcome(BatchOutcomeKind.WillRetry, input.Key, Error: error);
        }

        var failedKey = await _store.MoveAsync(input.Key, key.FailedKey, cancellationToken).ConfigureAwait(false);
        using var document = new MemoryStream(ErrorDocument(input, error, attempts));
        await _store.CreateAsync(failedKey + ".error.json", document, cancellationToken).ConfigureAwait(false);
        // The same content dropped again later (say, after the model is fixed) starts with a clean count.
        await _store.WriteAsync(attemptsKey, "0"u8.ToArray(), cancellationToken).ConfigureAwait(false);
        _logger.LogError("Batch input {Key} failed {Attempts} times and was moved to {FailedKey}: {Error}", input.Key, attempts, failedKey, error);
        return new BatchOutcome(BatchOutcomeKind.Failed, input.Key, Error: error);
    }

    private async Task<int> ReadAttemptsAsync(string key, CancellationToken cancellationToken)
    {
        if (await _store.StatAsync(key, cancellationToken).ConfigureAwait(false) is not { Length: < 32 })
        {
            return 0;
        }

        await using var stream = await _store.OpenReadAsync(key, cancellationToken).ConfigureAwait(false);
        using var reader = new StreamReader(stream);
        return int.TryParse(await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture, out var n) ? n : 0;
    }

    private static byte[] ErrorDocument(BatchObject input, string error, int attempts)
    {
        using var buffer = new PooledBufferWriter(512);
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = InferResponseWriter.WriterOptions.Encoder }))
        {
            json.WriteStartObject();
            json.WriteString("input", input.Key);
            json.WriteString("input_identity", input.Identity);
            json.WriteString("error", error);
            json.WriteNumber("attempts", attempts);
            json.WriteString("failed_at", DateTimeOffset.UtcNow);
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}

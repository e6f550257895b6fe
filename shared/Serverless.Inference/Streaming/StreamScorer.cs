using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json;
using Serverless.Inference.Batch;
using Serverless.Inference.Hosting;
using Serverless.Inference.Runtime;

namespace Serverless.Inference.Streaming;

/// <summary>
/// Scores ordered stream records, without storage: results come out in the records' order, one per record. Records go
/// through the batch scorer as JSON lines, so rows, requests, micro-batches, the memory gate and per-row errors are the
/// batch path's own; a record that cannot be scored gets its error and the rest go on. The manifest's window and alert
/// rules are applied here, with the state the caller passes. One call at a time per instance.
/// </summary>
public sealed class StreamScorer : IDisposable
{
    // A pass is one run of the batch scorer: long enough that its start-up cost vanishes, short enough that its input
    // and results (a few times the records' bytes) stay small.
    private const int MaxRecordsPerPass = 16_384;
    private const long MaxBytesPerPass = 4 << 20;
    private static readonly BatchJob Job = new("stream", "stream", BatchFormat.Jsonl);

    private readonly ModelLease _model;
    private readonly BatchScorer _batch;
    private readonly StreamingManifest _manifest;
    private readonly IReadOnlyList<StreamRule> _rules;
    private readonly StreamWindow? _window;
    private readonly bool _textRows;
    private readonly int _recordsPerPass;

    /// <exception cref="InferenceException">Unavailable: the manifest's streaming section does not fit the model.</exception>
    public StreamScorer(ModelLease model, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
        _manifest = model.Manifest.Streaming ?? new StreamingManifest();
        var signature = model.Endpoint.Signature;
        _rules = [.. _manifest.Rules.Select(rule => StreamRule.For(rule, signature, model.Name))];
        _window = _manifest.Window is { } window ? StreamWindow.For(window, signature, model.Name) : null;
        _textRows = signature.Inputs is [{ DataType: TensorDataType.Bytes, Shape.Count: 1 }];
        _batch = new BatchScorer(model, null, time);
        _recordsPerPass = Math.Clamp(_batch.MicroBatchSize * 16, 256, MaxRecordsPerPass);
    }

    public int MicroBatchSize => _batch.MicroBatchSize;

    /// <summary>The most records one predictions object holds (the manifest's <c>max_records_per_run</c>).</summary>
    public int RecordsPerRun => _manifest.MaxRecordsPerRun;

    /// <summary>Whether results depend on earlier records of a key (a window or a counting rule), so state must be kept.</summary>
    public bool KeepsState => _manifest.KeepsState;

    /// <summary>Scores the records in order; memory holds one pass of a few micro-batches, whatever the count.</summary>
    /// <param name="state">The partition keys' state, read and updated in record order.</param>
    public async IAsyncEnumerable<StreamResult> ScoreAsync(IReadOnlyList<StreamRecord> records, StreamState state, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(state);
        for (var start = 0; start < records.Count;)
        {
            var count = PassLength(records, start);
            var results = await ScorePassAsync(records, start, count, state, cancellationToken).ConfigureAwait(false);
            start += count;
            foreach (var result in results)
            {
                yield return result;
            }
        }
    }

    public void Dispose() => _window?.Dispose();

    /// <summary>Records from <paramref name="start"/> up to the pass's record and byte bounds, at least one.</summary>
    private int PassLength(IReadOnlyList<StreamRecord> records, int start)
    {
        long bytes = 0;
        var end = start;
        while (end < records.Count && end - start < _recordsPerPass && (end == start || bytes < MaxBytesPerPass))
        {
            bytes += records[end++].Payload.Length;
        }

        return end - start;
    }

    private async Task<StreamResult[]> ScorePassAsync(IReadOnlyList<StreamRecord> records, int start, int count, StreamState state, CancellationToken cancellationToken)
    {
        var plans = new Plan[count];
        var lineOwners = new List<int>(count);
        var input = new ArrayBufferWriter<byte>(Math.Max(256, count * 64));
        for (var i = 0; i < count; i++)
        {
            var record = records[start + i];
            var key = _manifest.KeepsState ? state.For(record.PartitionKey) : null;
            var inOrder = key is null || StreamOrder.Follows(record, key);
            var plan = new Plan(key, !inOrder, null, null);
            if (record.DecodeError is { } decodeError)
            {
                plan = plan with { Error = decodeError };
            }
            else if (_window is { } window)
            {
                plan = PlanWindow(window, record, plan, input, lineOwners, i);
            }
            else if (StreamLines.Append(input, record.Payload.Span, _textRows) is { } error)
            {
                plan = plan with { Error = error };
            }
            else
            {
                lineOwners.Add(i);
            }

            if (key is not null && inOrder)
            {
                key.Advance(record);
            }

            plans[i] = plan;
        }

        var scored = new (StreamResultKind Kind, ReadOnlyMemory<byte> Json, string? Error)[count];
        if (lineOwners.Count > 0)
        {
            // The results point into the output's buffer, which lives as long as they do: no copy per record.
            using var output = new MemoryStream(input.WrittenCount * 4);
            MemoryMarshal.TryGetArray(input.WrittenMemory, out var written);
            using var lines = new MemoryStream(written.Array!, written.Offset, written.Count, writable: false);
            await _batch.ScoreAsync(lines, output, Job, null, cancellationToken).ConfigureAwait(false);
            var line = 0;
            foreach (var result in StreamLines.ReadResults(output.GetBuffer().AsMemory(0, (int)output.Length)))
            {
                scored[lineOwners[line++]] = result;
            }
        }

        var results = new StreamResult[count];
        for (var i = 0; i < count; i++)
        {
            var record = records[start + i];
            var plan = plans[i];
            var (kind, json, message) = plan.Error is not null ? (StreamResultKind.Error, default, plan.Error)
                : plan.Skipped is not null ? (StreamResultKind.Skipped, default, plan.Skipped)
                : scored[i];
            results[i] = new StreamResult(record, _model.Name, _model.Version, kind, json, message, plan.OutOfOrder);
            if ((kind is StreamResultKind.Outputs or StreamResultKind.Response) && _rules.Count > 0 && !plan.OutOfOrder)
            {
                results[i].Alerts = Evaluate(record, json, plan.Key);
            }
        }

        return results;
    }

    private static Plan PlanWindow(StreamWindow window, StreamRecord record, Plan plan, ArrayBufferWriter<byte> input, List<int> lineOwners, int index)
    {
        if (plan.OutOfOrder)
        {
            return plan with { Skipped = "out of order: a window takes its key's readings in order" };
        }

        var (reading, error) = window.Read(record.Payload.Span);
        if (error is not null)
        {
            return plan with { Error = error };
        }

        var key = plan.Key!;
        if (key.Readings is not { } readings || readings.Size != window.Size || readings.ReadingBytes != window.ReadingBytes)
        {
            key.Readings = new StreamReadings(window.Size, window.ReadingBytes);
        }

        key.Push(reading.Span);
        if (!key.Readings.IsFull)
        {
            return plan with { Skipped = $"window filling: {key.Readings.Count} of {window.Size} readings" };
        }

        window.WriteRow(input, key.Readings);
        input.Write("\n"u8);
        lineOwners.Add(index);
        return plan;
    }

    private List<StreamAlert> Evaluate(StreamRecord record, ReadOnlyMemory<byte> json, StreamKeyState? key)
    {
        List<StreamAlert> alerts = [];
        using var document = JsonDocument.Parse(json);
        var prediction = document.RootElement;
        foreach (var rule in _rules)
        {
            var matches = rule.Matches(prediction);
            bool fires;
            if (key is null)
            {
                fires = matches;
            }
            else
            {
                var streak = matches ? key.Streak(rule.Name) + 1 : 0;
                fires = streak == rule.Consecutive;
                key.SetStreak(rule.Name, fires ? 0 : streak);
            }

            if (fires)
            {
                alerts.Add(new StreamAlert(
                    StreamAlertIds.For(_model.Name, _model.Version, rule.Name, record.PartitionKey, record.Position),
                    _model.Name, _model.Version, rule.Name, record.PartitionKey, record.Position, record.Timestamp, prediction.Clone()));
            }
        }

        return alerts;
    }

    /// <summary>What was decided for a record before the model runs: its key's state, and an error or a reason to skip it.</summary>
    private readonly record struct Plan(StreamKeyState? Key, bool OutOfOrder, string? Error, string? Skipped);
}

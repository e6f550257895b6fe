using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Serverless.Inference.Hosting;
using Serverless.Inference.Monitoring;
using Serverless.Inference.Protocol;
using Serverless.Inference.Repository;
using Serverless.Inference.Runtime;
using Serverless.Inference.Telemetry;

namespace Serverless.Inference.Batch;

/// <summary>
/// Streams a file through a model, storage-agnostic: records in, one result per record out, in input
/// order. Rows are parsed into micro-batches up to the model's batch size; a bad row gets its error in
/// its place and the rest go on. Memory is bounded by the micro-batch and the record size limit, never by
/// the file. Output is written as it is produced: publishing it (or not, on failure) is the caller's job.
/// </summary>
public sealed class BatchScorer
{
    private const int MaxMicroBatch = 4096;

    private readonly ModelLease _model;
    private readonly BatchOptions _options;
    private readonly RequestLimits _requestLimits;
    private readonly TimeProvider _time;

    /// <param name="time">The clock for the summary's start time and durations (tests pass a fake one).</param>
    public BatchScorer(ModelLease model, BatchOptions? options = null, TimeProvider? time = null)
    {
        _model = model;
        _time = time ?? TimeProvider.System;
        _options = options ?? new BatchOptions();
        _requestLimits = new RequestLimits { MaxRequestBytes = _options.MaxRecordBytes };
        var manifest = model.Manifest;
        var requested = _options.MicroBatchSize ?? (manifest.MaxBatchSize > 0 ? manifest.MaxBatchSize : 1);
        var fixedBatch = model.Endpoint.Signature.Inputs.Any(i => i.Shape.Count > 0 && i.Shape[0] >= 0);
        // Never above the model's own limit: the model refuses a larger batch, and every row would be re-run alone.
        var limit = manifest.MaxBatchSize > 0 ? Math.Min(manifest.MaxBatchSize, MaxMicroBatch) : MaxMicroBatch;
        // Nor above what the instance's memory for requests holds at once: a micro-batch that can never fit would fail the file.
        limit = (int)Math.Clamp(model.Gate.CapacityBytes / Math.Max(1, model.RowBytes), 1, limit);
        MicroBatchSize = fixedBatch ? 1 : Math.Clamp(requested, 1, limit);
    }

    public int MicroBatchSize { get; }

    public async Task<BatchSummary> ScoreAsync(Stream input, Stream output, BatchJob job, IProgress<BatchProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var started = _time.GetUtcNow();
        var clock = _time.GetTimestamp();
        using var activity = InferenceTelemetry.Source.StartActivity("batch.score");
        activity?.SetTag("model.name", _model.Name);
        activity?.SetTag("batch.input", job.Input);

        var (columns, columnProblem) = MapColumns();
        var run = new Run(this, columns, columnProblem, job.Format, output) { FileName = job.Input[(job.Input.LastIndexOf('/') + 1)..] };
        try
        {
            await using var records = new RecordReader(input, _options.MaxRecordBytes, quotedNewlines: job.Format == BatchFormat.Csv, job.FirstLine);
            if (!await run.ReadHeaderAsync(records, job.WriteHeader, cancellationToken).ConfigureAwait(false))
            {
                return Summary(job, run, started, _time.GetElapsedTime(clock));
            }

            // Reading and parsing go on here while the model runs and results are written on the other side.
            run.Start(progress, cancellationToken);
            while (await records.ReadAsync(cancellationToken).ConfigureAwait(false) is { } record)
            {
                await run.AddAsync(record, cancellationToken).ConfigureAwait(false);
                if (run.ShouldHandOff)
                {
                    await run.HandOffAsync(records.BytesRead).ConfigureAwait(false);
                }
            }

            await run.CompleteAsync(records.BytesRead).ConfigureAwait(false);
            await output.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await run.DisposeAsync().ConfigureAwait(false);
            InferenceTelemetry.BatchRows.Add(run.RowsOk, new KeyValuePair<string, object?>("model.name", _model.Name), new("outcome", "ok"));
            InferenceTelemetry.BatchRows.Add(run.RowsFailed, new KeyValuePair<string, object?>("model.name", _model.Name), new("outcome", "failed"));
        }

        return Summary(job, run, started, _time.GetElapsedTime(clock));
    }

    private BatchSummary Summary(BatchJob job, Run run, DateTimeOffset started, TimeSpan duration) => new()
    {
        Model = _model.Name,
        ModelVersion = _model.Version,
        ModelIdentity = _model.Identity,
        Input = job.Input,
        InputIdentity = job.InputIdentity,
        Format = job.Format,
        RowsIn = run.RowsIn,
        RowsOk = run.RowsOk,
        RowsFailed = run.RowsFailed,
        MicroBatchSize = MicroBatchSize,
        StartedAt = started,
        Duration = duration,
        ModelTime = run.ModelTime,
    };

    private (IReadOnlyList<BatchColumn>? Columns, string? Problem) MapColumns()
    {
        try
        {
            return ([.. _model.Endpoint.Signature.Inputs.Select(input => BatchColumn.For(
                input,
                _model.Manifest.Inputs.FirstOrDefault(o => o.Name == input.Name)?.Columns))], null);
        }
        catch (InferenceException e)
        {
            return (null, e.Message);
        }
    }

    /// <summary>
    /// The state of one file being scored, in two lanes that overlap: this side reads records and parses them into a
    /// chunk (a micro-batch and its rows' records); a consumer task runs the model on the chunk before and writes its
    /// results. Two chunks take turns, so memory stays that of two micro-batches, and results keep the input's order.
    /// </summary>
    private sealed class Run : IAsyncDisposable
    {
        private readonly BatchScorer _scorer;
        private readonly RowFormat _parse;
        private readonly RowFormat _write;
        private readonly Stream _output;
        private readonly PooledBufferWriter _written = new(1 << 16);
        private readonly Channel<Chunk> _full = Channel.CreateBounded<Chunk>(1);
        private readonly Channel<Chunk> _free = Channel.CreateBounded<Chunk>(2);
        private readonly Chunk[] _chunks;
        private Chunk _filling;
        private CancellationTokenSource? _abort;
        private CancellationToken _callerCancellation;
        private Task _consumer = Task.CompletedTask;
        private IProgress<BatchProgress>? _progress;

        public Run(BatchScorer scorer, IReadOnlyList<BatchColumn>? columns, string? columnProblem, BatchFormat format, Stream output)
        {
            _scorer = scorer;
            _output = output;
            _parse = Create(scorer, columns, columnProblem, format);
            _write = Create(scorer, columns, columnProblem, format);
            _chunks = [new Chunk(columns, scorer.MicroBatchSize), new Chunk(columns, scorer.MicroBatchSize)];
            _filling = _chunks[0];
            _free.Writer.TryWrite(_chunks[1]);
        }

        /// <summary>The input's file name, which names captured rows that carry no id of their own.</summary>
        public string FileName { get; init; } = "";

        public long RowsIn { get; private set; }

        public long RowsOk { get; private set; }

        public long RowsFailed { get; private set; }

        public TimeSpan ModelTime { get; private set; }

        // Error rows wait in line too, so a file full of errors still flushes in bounded memory.
        public bool ShouldHandOff =>
            (_filling.Batch?.IsFull ?? false)
            || _filling.Pending.Count >= 4 * _scorer.MicroBatchSize + 64
            || _filling.AttachmentBytes >= _scorer._options.MaxAttachmentBytesPerBatch;

        /// <returns>False when the file is empty (a CSV without even a header).</returns>
        public async Task<bool> ReadHeaderAsync(RecordReader records, bool writeHeader, CancellationToken cancellationToken)
        {
            if (!_parse.HasHeader)
            {
                return true;
            }

            var header = await records.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (header is not { } record)
            {
                return false;
            }

            if (record.Error is not null)
            {
                throw InferenceException.BadRequest($"the CSV header: {record.Error}");
            }

            using (var ignored = new PooledBufferWriter(256))
            {
                _parse.ReadHeader(record.Bytes.Span, ignored);
            }

            _write.ReadHeader(record.Bytes.Span, _written);
            if (!writeHeader)
            {
                _written.Clear();
            }

            return true;
        }

        public void Start(IProgress<BatchProgress>? progress, CancellationToken cancellationToken)
        {
            _progress = progress;
            _callerCancellation = cancellationToken;
            _abort = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            if (_scorer._options.Overlapped)
            {
                _consumer = Task.Run(() => ConsumeAsync(_abort.Token), CancellationToken.None);
            }
        }

        public async Task AddAsync(InputRecord record, CancellationToken cancellationToken)
        {
            var chunk = _filling;
            var offset = chunk.Records.WrittenCount;
            chunk.Records.Write(record.Bytes.Span);
            var pending = new Pending(record.Line, offset, record.Bytes.Length, RowKind.Row, -1, record.Error);
            if (record.Error is null)
            {
                try
                {
                    chunk.Batch?.BeginRow();
                    var kind = _parse.Parse(record.Bytes.Span, record.Line, chunk.Batch);
                    if (kind == RowKind.Blank)
                    {
                        return;
                    }

                    pending = pending with { Kind = kind, Slot = kind == RowKind.Row ? chunk.Batch!.Count - 1 : -1 };
                    if (kind == RowKind.Row && chunk.Batch!.Keys.Count > 0)
                    {
                        pending = await ReadAttachmentsAsync(chunk, pending, cancellationToken).ConfigureAwait(false);
                    }
                }
                catch (InferenceException e)
                {
                    pending = pending with { Error = e.Message };
                }
                catch (JsonException e)
                {
                    pending = pending with { Error = $"not valid JSON: {e.Message}" };
                }
            }

            RowsIn++;
            chunk.Pending.Add(pending);
        }

        /// <summary>Gives the filled chunk to the consumer and takes the other one, once the consumer is done with it.</summary>
        public async Task HandOffAsync(long bytesRead)
        {
            _filling.BytesRead = bytesRead;
            _filling.RowsIn = RowsIn;
            if (!_scorer._options.Overlapped)
            {
                await FinishAsync(_filling, _abort!.Token).ConfigureAwait(false);
                return;
            }

            try
            {
                await _full.Writer.WriteAsync(_filling, _abort!.Token).ConfigureAwait(false);
                _filling = await _free.Reader.ReadAsync(_abort.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!_callerCancellation.IsCancellationRequested)
            {
                // Only the consumer cancels on its own, when it fails: its exception, not the cancellation it caused, is
                // what went wrong. It may not have finished failing yet, so wait for it rather than test its state.
                await _consumer.ConfigureAwait(false);
                throw;
            }
        }

        /// <summary>Hands off the last chunk (even an empty one: a CSV result's header waits to be written) and waits until every result is written.</summary>
        public async Task CompleteAsync(long bytesRead)
        {
            await HandOffAsync(bytesRead).ConfigureAwait(false);

            _full.Writer.TryComplete();
            await _consumer.ConfigureAwait(false);
        }

        public async ValueTask DisposeAsync()
        {
            if (_abort is not null)
            {
                _full.Writer.TryComplete();
                await _abort.CancelAsync().ConfigureAwait(false);
                try
                {
                    await _consumer.ConfigureAwait(false);
                }
#pragma warning disable CA1031 // The consumer's failure has already reached the caller through the run; here it is only stopped.
                catch (Exception)
#pragma warning restore CA1031
                {
                }

                _abort.Dispose();
            }

            _parse.Dispose();
            _write.Dispose();
            _written.Dispose();
            foreach (var chunk in _chunks)
            {
                chunk.Dispose();
            }
        }

        private static RowFormat Create(BatchScorer scorer, IReadOnlyList<BatchColumn>? columns, string? columnProblem, BatchFormat format)
        {
            var outputs = scorer._model.Endpoint.Signature.Outputs;
            return format switch
            {
                BatchFormat.Csv when columns is null => throw InferenceException.BadRequest($"this model cannot read CSV rows: {columnProblem}"),
                BatchFormat.Csv => new CsvRowFormat(columns, outputs),
                _ => new JsonlRowFormat(columns ?? [], outputs, columnProblem),
            };
        }

        private async Task ConsumeAsync(CancellationToken cancellationToken)
        {
            try
            {
                await foreach (var chunk in _full.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                {
                    await FinishAsync(chunk, cancellationToken).ConfigureAwait(false);
                    await _free.Writer.WriteAsync(chunk, cancellationToken).ConfigureAwait(false);
                }
            }
            catch
            {
                // Wakes the reading side, which may be waiting for this side to take or give back a chunk.
                await _abort!.CancelAsync().ConfigureAwait(false);
                throw;
            }
        }

        /// <summary>Runs a chunk, writes its results, reports progress and empties it for the next rows.</summary>
        private async Task FinishAsync(Chunk chunk, CancellationToken cancellationToken)
        {
            await FlushAsync(chunk, cancellationToken).ConfigureAwait(false);
            _progress?.Report(new BatchProgress(chunk.RowsIn, RowsFailed, chunk.BytesRead));
            chunk.Clear();
        }

        /// <summary>Replaces the keys in the row just committed by the objects they name; on failure the row leaves the batch with the error.</summary>
        private async Task<Pending> ReadAttachmentsAsync(Chunk chunk, Pending pending, CancellationToken cancellationToken)
        {
            var batch = chunk.Batch!;
            try
            {
                var attachments = _scorer._options.Attachments
                    ?? throw InferenceException.BadRequest("this file's rows name objects by key, but nothing to read them from was configured");
                foreach (var (column, element) in batch.Keys)
                {
                    var strings = batch.Strings(column)!;
                    var key = Encoding.UTF8.GetString(strings[element]);
                    var name = batch.Columns[column].Spec.Name + MicroBatch.KeySuffix;
                    try
                    {
                        strings[element] = await attachments.ReadAsync(key, cancellationToken).ConfigureAwait(false);
                    }
                    catch (InferenceException e) when (e.Kind == InferenceErrorKind.BadRequest)
                    {
                        throw InferenceException.BadRequest($"{name}: {e.Message}");
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                    {
                        throw InferenceException.BadRequest($"{name}: '{ModelNames.Printable(key)}' could not be read: {e.Message}");
                    }

                    chunk.AttachmentBytes += strings[element].Length;
                }

                return pending;
            }
            catch (InferenceException e) when (e.Kind == InferenceErrorKind.BadRequest)
            {
                batch.Uncommit();
                return pending with { Slot = -1, Error = e.Message };
            }
        }

        private async Task FlushAsync(Chunk chunk, CancellationToken cancellationToken)
        {
            ModelOutputs? outputs = null;
            MemoryReservation? memory = null;
            try
            {
                if (chunk.Batch is { Count: > 0 } batch)
                {
                    memory = await _scorer._model.ReserveAsync(batch.Tensors(0, batch.Count), MemoryWait.Batch, cancellationToken).ConfigureAwait(false);
                    outputs = RunRows(chunk, 0, batch.Count, cancellationToken, out _);
                }

                foreach (var row in chunk.Pending)
                {
                    if (row.Error is null && row.Kind == RowKind.Request)
                    {
                        await RunRequestAsync(chunk, row, cancellationToken).ConfigureAwait(false);
                    }
                    else
                    {
                        WriteRow(chunk, row, outputs, cancellationToken);
                    }
                }
            }
            finally
            {
                outputs?.Dispose();
                memory?.Dispose();
            }

            await _output.WriteAsync(_written.WrittenMemory, cancellationToken).ConfigureAwait(false);
            _written.Clear();
        }

        private void WriteRow(Chunk chunk, Pending row, ModelOutputs? outputs, CancellationToken cancellationToken)
        {
            var record = chunk.Records.WrittenSpan.Slice(row.RecordOffset, row.RecordLength);
            string? error = row.Error;
            if (error is null && outputs is not null)
            {
                _write.WriteRow(_written, row.Line, record, outputs, row.Slot, chunk.Batch!.Count);
                _scorer._model.Capture?.BatchRow(chunk.Batch, row.Slot, record, FileName, row.Line, outputs, chunk.Batch.Count, row.Slot);
            }
            else if (error is null)
            {
                // The micro-batch as a whole was refused: run this row alone to learn whether it is the one at fault.
                using var single = RunRows(chunk, row.Slot, 1, cancellationToken, out error);
                if (single is not null)
                {
                    _write.WriteRow(_written, row.Line, record, single, 0, 1);
                    _scorer._model.Capture?.BatchRow(chunk.Batch!, row.Slot, record, FileName, row.Line, single, 1, 0);
                }
            }

            Count(chunk, row, error);
        }

        private void Count(Chunk chunk, Pending row, string? error)
        {
            if (error is null)
            {
                RowsOk++;
            }
            else
            {
                RowsFailed++;
                _write.WriteError(_written, row.Line, chunk.Records.WrittenSpan.Slice(row.RecordOffset, row.RecordLength), error);
            }
        }

        private ModelOutputs? RunRows(Chunk chunk, int first, int count, CancellationToken cancellationToken, out string? error)
        {
            var inputs = chunk.Batch!.Tensors(first, count);
            var clock = _scorer._time.GetTimestamp();
            try
            {
                error = null;
                return _scorer._model.Endpoint.Run(inputs, null, cancellationToken);
            }
            catch (InferenceException e) when (e.Kind is InferenceErrorKind.BadRequest or InferenceErrorKind.PayloadTooLarge)
            {
                error = e.Message;
                return null;
            }
            finally
            {
                ModelTime += _scorer._time.GetElapsedTime(clock);
                if (first != 0)
                {
                    inputs.ForEach(input => input.Dispose());
                }
            }
        }

        /// <summary>A line that is a whole inference request runs by itself, with memory reserved for it alone.</summary>
        private async Task RunRequestAsync(Chunk chunk, Pending row, CancellationToken cancellationToken)
        {
            string? error = null;
            try
            {
                using var request = InferRequestReader.Read(chunk.Records.WrittenSpan.Slice(row.RecordOffset, row.RecordLength), [], _scorer._requestLimits);
                if (request.BinaryOutputs || request.Outputs.Any(o => o.Binary == true))
                {
                    error = "binary outputs cannot be written into a JSON lines file";
                }
                else
                {
                    using var memory = await _scorer._model.ReserveAsync(request.Inputs, MemoryWait.Batch, cancellationToken).ConfigureAwait(false);
                    var clock = _scorer._time.GetTimestamp();
                    using var outputs = _scorer._model.Endpoint.Run(request.Inputs, [.. request.Outputs.Select(o => o.Name)], cancellationToken);
                    ModelTime += _scorer._time.GetElapsedTime(clock);
                    _write.WriteResponse(_written, row.Line, _scorer._model.Name, _scorer._model.Version, request, outputs);
                    _scorer._model.Capture?.Request(ModelCapture.Batch, request.Id ?? $"{FileName}:{row.Line}", request.Inputs, outputs);
                }
            }
            catch (InferenceException e) when (e.Kind is InferenceErrorKind.BadRequest or InferenceErrorKind.PayloadTooLarge)
            {
                error = e.Message;
            }

            Count(chunk, row, error);
        }

        private readonly record struct Pending(long Line, int RecordOffset, int RecordLength, RowKind Kind, int Slot, string? Error);

        /// <summary>A micro-batch with its rows' records and results in waiting: what one lane hands the other.</summary>
        private sealed class Chunk(IReadOnlyList<BatchColumn>? columns, int microBatchSize) : IDisposable
        {
            public MicroBatch? Batch { get; } = columns is null ? null : new MicroBatch(columns, microBatchSize);

            public PooledBufferWriter Records { get; } = new(1 << 16);

            public List<Pending> Pending { get; } = [];

            public long AttachmentBytes { get; set; }

            /// <summary>Where reading had got to when the chunk was handed off, for progress.</summary>
            public long BytesRead { get; set; }

            public long RowsIn { get; set; }

            public void Clear()
            {
                Batch?.Clear();
                Pending.Clear();
                AttachmentBytes = 0;
                Records.Clear();
            }

            public void Dispose() => Records.Dispose();
        }
    }
}

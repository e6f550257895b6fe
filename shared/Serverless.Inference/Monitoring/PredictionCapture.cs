using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Serverless.Inference.Batch;
using Serverless.Inference.Telemetry;

namespace Serverless.Inference.Monitoring;

/// <summary>
/// The process's prediction capture: sampled request/response records (one JSON line per row), buffered in a fixed
/// amount of memory and written as one object per model, version and hour under <c>capture/</c> in a store, when an
/// object reaches <see cref="CaptureOptions.ObjectBytes"/> or <see cref="CaptureOptions.MaxAge"/>, and on
/// <see cref="FlushAsync"/>. It never fails or delays a request: a full buffer drops records, a store that refuses
/// or cannot be reached drops the object; both are counted on <c>inference.capture.records</c> and logged.
/// </summary>
public sealed partial class PredictionCapture : IAsyncDisposable, IDisposable
{
    /// <summary>The first segment of every capture key: a folder, the Blob container, the S3 prefix.</summary>
    public const string Folder = "capture";

    internal const string KeyPrefix = Folder + "/";

    private readonly IBatchStore _store;
    private readonly CaptureOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _writing = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _loop;
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _objects;
    private long _requests;
    private int _fullLogged;
    private int _disposed;

    public PredictionCapture(IBatchStore store, CaptureOptions? options = null, ILogger<PredictionCapture>? logger = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
        _options = options ?? new CaptureOptions();
        _options.Validate();
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _time = time ?? TimeProvider.System;
        Buffer = new CaptureBuffer(_options.BufferBytes, _options.ObjectBytes);
        _loop = _options.BackgroundFlush ? Task.Run(() => FlushLoopAsync(_stopping.Token)) : Task.CompletedTask;
    }

    /// <summary>A random 12-hex-digit name for this process, in every object key and generated request id.</summary>
    internal string Instance { get; } = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));

    internal CaptureBuffer Buffer { get; }

    internal DateTimeOffset Now => _time.GetUtcNow();

    /// <summary>An id for a request that came without one.</summary>
    internal string NextRequestId() =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Instance}-{Interlocked.Increment(ref _requests):D8}");

    /// <summary>Buffers one record; drops and counts it when the buffer is full. Called on the request's thread.</summary>
    internal void Add(string model, string version, DateTimeOffset time, ReadOnlySpan<byte> line)
    {
        if (!Buffer.TryAppend(CaptureBucketKey.For(model, version, time), line, time, out var due))
        {
            InferenceTelemetry.CaptureRecords.Add(1, new KeyValuePair<string, object?>("model.name", model), new("outcome", "dropped_full"));
            if (Interlocked.Exchange(ref _fullLogged, 1) == 0)
            {
                LogBufferFull(_logger, Buffer.BoundBytes);
            }

            return;
        }

        if (due)
        {
            Wake();
        }
    }

    internal static void CountTooLarge(string model) =>
        InferenceTelemetry.CaptureRecords.Add(1, new KeyValuePair<string, object?>("model.name", model), new("outcome", "dropped_too_large"));

    /// <summary>
    /// Writes every buffered record now (the end of a Lambda invocation, a host stopping, a test). Never throws for the
    /// store's failures: those objects are dropped, counted and logged.
    /// </summary>
    public Task FlushAsync(CancellationToken cancellationToken = default) => WriteDueAsync(all: true, cancellationToken);

    /// <summary>Stops the loop and writes what is still buffered, waiting for it: for containers disposed synchronously.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>Stops the loop and writes what is still buffered.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        await FlushAsync(CancellationToken.None).ConfigureAwait(false);
        _stopping.Dispose();
        _writing.Dispose();
    }

    private void Wake()
    {
        if (_options.BackgroundFlush)
        {
            _wake.TrySetResult();
        }
        else
        {
            // No loop where the process may be frozen between invocations: a full object is written by the pool now,
            // so a long invocation does not fill the buffer; the rest waits for the host's FlushAsync.
            _ = Task.Run(() => WriteDueAsync(all: false, CancellationToken.None));
        }
    }

    private async Task FlushLoopAsync(CancellationToken stopping)
    {
        // Checked often enough that an object is written within a second or so of coming due by age.
        var interval = TimeSpan.FromTicks(Math.Clamp(_options.MaxAge.Ticks / 4, TimeSpan.TicksPerMillisecond * 100, TimeSpan.TicksPerSecond));
        while (!stopping.IsCancellationRequested)
        {
            var wake = _wake.Task;
            try
            {
                await Task.WhenAny(wake, Task.Delay(interval, _time, stopping)).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (wake.IsCompleted)
            {
                _wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            await WriteDueAsync(all: false, stopping).ConfigureAwait(false);
        }
    }

    private async Task WriteDueAsync(bool all, CancellationToken cancellationToken)
    {
        try
        {
            await _writing.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        try
        {
            foreach (var pending in Buffer.TakeDue(_time.GetUtcNow(), _options.MaxAge, all))
            {
                try
                {
                    await WriteAsync(pending).ConfigureAwait(false);
                }
                finally
                {
                    Buffer.Release(pending);
                }
            }
        }
        finally
        {
            _writing.Release();
        }
    }

    private async Task WriteAsync(CapturePending pending)
    {
        var key = pending.Key.ObjectKey(Instance, Interlocked.Increment(ref _objects));
        var model = new KeyValuePair<string, object?>("model.name", pending.Key.Model);
        string? failure;
        Exception? error = null;
        try
        {
            // Its own deadline, apart from any caller's: an unreachable store costs one timeout per object, no retries.
            using var timeout = new CancellationTokenSource(_options.StoreTimeout, _time);
            await using var content = pending.OpenRead();
            failure = await _store.CreateAsync(key, content, timeout.Token).ConfigureAwait(false) ? null : "the key was already taken";
        }
        catch (BatchStoreException e)
        {
            (failure, error) = (e.Message, e);
        }
        catch (OperationCanceledException e)
        {
            (failure, error) = ($"no answer within {_options.StoreTimeout.TotalSeconds:0.#} s", e);
        }

        if (failure is null)
        {
            InferenceTelemetry.CaptureObjects.Add(1, new KeyValuePair<string, object?>("outcome", "written"));
            InferenceTelemetry.CaptureRecords.Add(pending.Records, model, new("outcome", "written"));
            Volatile.Write(ref _fullLogged, 0);
            return;
        }

        InferenceTelemetry.CaptureObjects.Add(1, new KeyValuePair<string, object?>("outcome", "failed"));
        InferenceTelemetry.CaptureRecords.Add(pending.Records, model, new("outcome", "dropped_store"));
        LogObjectDropped(_logger, error, key, pending.Records, _store.Description, failure);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Capture object {Key} ({Records} records) was dropped, not written to {Store}: {Reason}")]
    private static partial void LogObjectDropped(ILogger logger, Exception? exception, string key, int records, string store, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Capture buffer full ({BoundBytes} bytes): records are dropped until objects are written")]
    private static partial void LogBufferFull(ILogger logger, long boundBytes);
}

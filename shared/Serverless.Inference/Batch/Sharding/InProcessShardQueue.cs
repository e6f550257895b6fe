using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Serverless.Inference.Batch.Sharding;

/// <summary>
/// The platform queue's local stand-in: shard messages go into a channel that a fixed number of workers in this
/// process take from, each through the same <see cref="BatchShardRunner"/> a queue-triggered function uses. A shard
/// that will retry goes back in line after a pause; a message for the dead-letter queue is logged.
/// </summary>
public sealed partial class InProcessShardQueue : IShardQueue
{
    private readonly Channel<ShardMessage> _messages = Channel.CreateUnbounded<ShardMessage>(new UnboundedChannelOptions { SingleReader = false });
    private readonly BatchShardRunner _runner;
    private readonly int _workers;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private int _pending;
    private TaskCompletionSource _idle = Idle();

    public InProcessShardQueue(BatchShardRunner runner, int workers, ILogger<InProcessShardQueue>? logger = null, TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(workers);
        _runner = runner;
        _workers = workers;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _idle.SetResult();
    }

    /// <summary>How long a shard that will retry waits before it is in line again.</summary>
    internal TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(2);

    public int Workers => _workers;

    public Task SendAsync(IReadOnlyList<ShardMessage> messages, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messages);
        foreach (var message in messages)
        {
            Enqueue(message);
        }

        return Task.CompletedTask;
    }

    /// <summary>Completes once every message sent so far has been handled (and the shards they retried, too).</summary>
    internal Task WhenIdleAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return _idle.Task.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Runs the workers until <paramref name="stoppingToken"/> fires.</summary>
    public Task RunAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, _workers).Select(_ => WorkAsync(stoppingToken)));

    private async Task WorkAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var message in _messages.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                await HandleAsync(message, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopped: messages still in line are lost with the process, as a platform queue would redeliver them.
        }
    }

    private async Task HandleAsync(ShardMessage message, CancellationToken stoppingToken)
    {
        var retry = false;
        try
        {
            var outcome = await _runner.ProcessAsync(message.ToJson(), null, stoppingToken).ConfigureAwait(false);
            retry = outcome.Kind == ShardOutcomeKind.WillRetry;
            if (outcome.Kind == ShardOutcomeKind.DeadLetter)
            {
                LogDeadLetter(_logger, message.Plan, message.Shard, outcome.Error);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return;
        }
#pragma warning disable CA1031 // A worker outlives any one shard; the shard is tried again, as a platform queue would.
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogUnexpected(_logger, e, message.Plan, message.Shard);
            retry = true;
        }

        if (retry)
        {
            _ = RequeueAsync(message, stoppingToken);
        }

        Done();
    }

    private async Task RequeueAsync(ShardMessage message, CancellationToken stoppingToken)
    {
        Started();
        try
        {
            await Task.Delay(RetryDelay, _time, stoppingToken).ConfigureAwait(false);
            Enqueue(message);
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            Done();
        }
    }

    private void Enqueue(ShardMessage message)
    {
        Started();
        if (!_messages.Writer.TryWrite(message))
        {
            Done();
        }
    }

    private void Started()
    {
        lock (_gate)
        {
            if (_pending++ == 0)
            {
                _idle = Idle();
            }
        }
    }

    private void Done()
    {
        lock (_gate)
        {
            if (--_pending == 0)
            {
                _idle.TrySetResult();
            }
        }
    }

    private static TaskCompletionSource Idle() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    [LoggerMessage(Level = LogLevel.Error, Message = "Shard {Shard} of {Plan} set aside as a dead letter: {Reason}")]
    private static partial void LogDeadLetter(ILogger logger, string plan, int shard, string? reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Shard {Shard} of {Plan} failed unexpectedly; it is tried again")]
    private static partial void LogUnexpected(ILogger logger, Exception exception, string plan, int shard);
}

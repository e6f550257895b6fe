using System.Collections.Concurrent;
using Serverless.Inference.Streaming;

namespace Serverless.Inference.Tests.Streaming.Support;

/// <summary>An alert sink that keeps what it was sent, and fails the next sends when told to.</summary>
public sealed class RecordingAlertSink : IAlertSink
{
    private int _failures;

    public string Description => "memory";

    public ConcurrentQueue<StreamAlert> Sent { get; } = new();

    /// <summary>The next <paramref name="sends"/> calls throw before anything is recorded.</summary>
    public void FailNext(int sends) => _failures = sends;

    public Task SendAsync(IReadOnlyList<StreamAlert> alerts, CancellationToken cancellationToken)
    {
        if (Interlocked.Decrement(ref _failures) >= 0)
        {
            throw new IOException("the alert queue is unreachable");
        }

        foreach (var alert in alerts)
        {
            Sent.Enqueue(alert);
        }

        return Task.CompletedTask;
    }
}

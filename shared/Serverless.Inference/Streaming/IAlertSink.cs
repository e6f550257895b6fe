namespace Serverless.Inference.Streaming;

/// <summary>Where alerts go: a queue (SQS, Storage queues), a file, the console. Delivery is at least once.</summary>
public interface IAlertSink
{
    /// <summary>Where the sink points, for the log.</summary>
    string Description { get; }

    /// <summary>Sends the alerts, or throws; a batch whose alerts were not all sent is not committed and is sent again.</summary>
    Task SendAsync(IReadOnlyList<StreamAlert> alerts, CancellationToken cancellationToken);
}

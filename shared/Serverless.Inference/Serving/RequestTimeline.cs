using System.Diagnostics;

namespace Serverless.Inference.Serving;

/// <summary>
/// When one inference request reached each phase (<see cref="Stopwatch"/> timestamps), filled in as it passes through the
/// transport, the runner and the dynamic batcher, then added to the model version's <see cref="ModelStatistics"/>.
/// </summary>
internal sealed class RequestTimeline
{
    public long Received { get; } = Stopwatch.GetTimestamp();

    /// <summary>The request was read into tensors.</summary>
    public long Parsed { get; private set; }

    /// <summary>The run holding this request started: after the memory gate and any dynamic batching queue.</summary>
    public long RunStarted { get; set; }

    public long RunEnded { get; set; }

    /// <summary>The rows the request asked for: its first dimension when the model batches, else 1.</summary>
    public int Rows { get; set; } = 1;

    public void MarkParsed() => Parsed = Stopwatch.GetTimestamp();
}

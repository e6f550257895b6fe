using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Serverless.Inference.Telemetry;

/// <summary>
/// Metric and trace names shared by every host (local, Azure Functions, Lambda), so one dashboard
/// reads them all. Listen with OpenTelemetry or <c>dotnet-counters</c> on the name <see cref="Name"/>.
/// </summary>
internal static class InferenceTelemetry
{
    public const string Name = TelemetryNames.Inference;

    private static readonly Meter Meter = new(Name, "1.0");
    private static long _firstRequestSeen;

    public static ActivitySource Source { get; } = new(Name, "1.0");

    public static Counter<long> Requests { get; } =
        Meter.CreateCounter<long>("inference.requests", "{request}", "Inference requests by model, version and outcome.");

    public static Histogram<double> RequestDuration { get; } =
        Meter.CreateHistogram<double>("inference.request.duration", "s", "Time to answer an inference request.");

    public static Histogram<double> ModelLoadDuration { get; } =
        Meter.CreateHistogram<double>("inference.model.load.duration", "s", "Model load time by phase: download, session_create, warmup.");

    public static Histogram<double> ColdStart { get; } =
        Meter.CreateHistogram<double>("inference.cold_start.duration", "s", "Process start to the end of the first request of the process.");

    public static Counter<long> RequestsRefused { get; } =
        Meter.CreateCounter<long>("inference.requests.refused", "{request}", "Runs refused before they started, by reason: too_large (could never fit the memory for requests), busy (the line was full).");

    public static Histogram<long> DynamicBatchRequests { get; } =
        Meter.CreateHistogram<long>("inference.dynamic_batch.requests", "{request}", "Requests that shared one run of a model with dynamic batching.");

    public static Counter<long> BatchRows { get; } =
        Meter.CreateCounter<long>("inference.batch.rows", "{row}", "Rows scored by batch jobs, by outcome.");

    public static Counter<long> BatchRefused { get; } =
        Meter.CreateCounter<long>("inference.batch.refused", "{file}", "Batch inputs refused for their key, by where the refusal was recorded: failed (moved with an error document) or log (the store cannot move it).");

    public static Counter<long> BatchUnrecorded { get; } =
        Meter.CreateCounter<long>("inference.batch.unrecorded", "{file}", "Batch inputs whose failure could not be written to the store: only the log tells of them.");

    /// <summary>Records the cold start once, at the end of the first request this process answers.</summary>
    /// <param name="time">The clock to measure with; the system's when null.</param>
    public static void RequestCompleted(string route, TimeProvider? time = null)
    {
        if (Interlocked.Exchange(ref _firstRequestSeen, 1) == 0)
        {
            var sinceStart = (time ?? TimeProvider.System).GetUtcNow() - Process.GetCurrentProcess().StartTime.ToUniversalTime();
            ColdStart.Record(sinceStart.TotalSeconds, new KeyValuePair<string, object?>("route", route));
        }
    }
}

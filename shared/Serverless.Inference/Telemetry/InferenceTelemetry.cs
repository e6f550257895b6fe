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

    public static Counter<long> PredictedClasses { get; } =
        Meter.CreateCounter<long>("inference.predictions", "{prediction}", "Predicted classes by model, version, output and class: a label, an integer class, or the index of a score vector's highest element.");

    public static Histogram<double> PredictionScores { get; } =
        Meter.CreateHistogram<double>("inference.prediction.score", "1", "The score of each prediction by model, version and output: a single-value output, or a score vector's highest element.");

    public static Counter<long> StreamRecords { get; } =
        Meter.CreateCounter<long>("inference.stream.records", "{record}", "Stream records by outcome: ok, error (a per-record error, committed), skipped (a window filling), duplicate (delivered before), uncommitted (left for the source to deliver again).");

    public static Counter<long> StreamAlerts { get; } =
        Meter.CreateCounter<long>("inference.stream.alerts", "{alert}", "Stream alerts sent, by rule; a send repeated after a failure counts again.");

    public static Counter<long> StreamStateConflicts { get; } =
        Meter.CreateCounter<long>("inference.stream.state.conflicts", "{conflict}", "Stream runs scored again because another writer saved a partition key's state first.");

    public static Counter<long> CaptureRecords { get; } =
        Meter.CreateCounter<long>("inference.capture.records", "{record}", "Prediction capture records (one per row) by model and outcome: written, dropped_full (the buffer was full), dropped_store (the store refused or could not be reached), dropped_too_large (the record's fixed part alone passed max_record_bytes).");

    public static Counter<long> CaptureObjects { get; } =
        Meter.CreateCounter<long>("inference.capture.objects", "{object}", "Prediction capture objects by outcome: written, failed (dropped with their records, never retried).");

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

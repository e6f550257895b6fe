namespace Serverless.Functions.Azure.ColdStart;

/// <summary>
/// One cold start, every time from the worker's process start: the worker's gRPC stream opened, WorkerInitResponse,
/// the last FunctionLoadResponse, and the first successful answer to an inference request; and the core's LoadReport
/// for the model, as the worker logged it (download from the store, session creation, warm-up).
/// </summary>
internal sealed record ColdStartSample(
    string Model,
    string Variant,
    double ConnectedMs,
    double InitializedMs,
    double FunctionsLoadedMs,
    double FirstAnswerMs,
    double DownloadMs,
    double SessionMs,
    double WarmupMs)
{
    /// <summary>From the loaded functions to the answer: the request path around the model load.</summary>
    public double FirstRequestMs => FirstAnswerMs - FunctionsLoadedMs;
}

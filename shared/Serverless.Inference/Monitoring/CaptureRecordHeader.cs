namespace Serverless.Inference.Monitoring;

/// <summary>The fields every capture record starts with.</summary>
/// <param name="Source">"online" (REST, gRPC, cloud HTTP) or "batch" (rows of batch files).</param>
internal readonly record struct CaptureRecordHeader(
    DateTimeOffset Time, string Model, string Version, string Identity, string Source, string Id, int Row);

namespace Serverless.Inference.Streaming;

/// <summary>An ordered batch of records from one source, to be scored by one model.</summary>
/// <param name="Version">A version folder or alias; the manifest's default when null.</param>
/// <param name="Source">Where the records come from (a Kinesis shard id, an Event Grid topic): it names the predictions objects.</param>
public sealed record StreamBatch(string Model, string? Version, string Source, IReadOnlyList<StreamRecord> Records);

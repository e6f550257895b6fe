namespace Serverless.Inference.Batch.Sharding;

/// <param name="Merged">The key of the merged results when this delivery published them.</param>
public sealed record ShardOutcome(ShardOutcomeKind Kind, string? Error = null, string? Merged = null);

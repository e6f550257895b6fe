namespace Serverless.Inference.Batch;

public sealed record BatchOutcome(BatchOutcomeKind Kind, string Key, string? ResultsKey = null, BatchSummary? Summary = null, string? Error = null);

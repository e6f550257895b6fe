namespace Serverless.Inference.Batch;

/// <summary>Progress of a running batch, reported after each micro-batch.</summary>
public readonly record struct BatchProgress(long Rows, long FailedRows, long BytesRead);

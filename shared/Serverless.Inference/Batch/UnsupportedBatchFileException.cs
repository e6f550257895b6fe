namespace Serverless.Inference.Batch;

/// <summary>A file no retry can score (its extension names no batch format): set aside at once.</summary>
internal sealed class UnsupportedBatchFileException(string message) : Exception(message);

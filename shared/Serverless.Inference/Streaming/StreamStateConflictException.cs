using Serverless.Inference.Batch;

namespace Serverless.Inference.Streaming;

/// <summary>Other writers kept saving a run's partition keys first, attempt after attempt.</summary>
internal sealed class StreamStateConflictException(string message) : BatchStoreException(message);

using Onnx;

namespace Serverless.Inference.Optimization;

/// <summary>A rewritten model and what was done to it.</summary>
/// <param name="Model">The variant's graph.</param>
/// <param name="RewrittenNodes">How many of the source's nodes were replaced or wrapped.</param>
/// <param name="Settings">What the variant's record keeps about the rewrite (weight type, per-channel, operators kept in FP32...).</param>
internal sealed record RewriteResult(ModelProto Model, int RewrittenNodes, IReadOnlyDictionary<string, string> Settings);

namespace Serverless.Inference.Optimization.Quantization;

/// <summary>The names of a quantized tensor's values, scales and zero points in the rewritten graph (a weight's initializers, or the outputs of an activation's DynamicQuantizeLinear).</summary>
internal sealed record QuantizedTensorNames(string Values, string Scale, string ZeroPoint);

namespace Serverless.Inference.Optimization.Quantization;

/// <summary>
/// A float tensor as symmetric int8: <c>w ≈ Values[i] * Scales[channel(i)]</c>, zero point 0.
/// </summary>
/// <param name="Axis">The channel axis the scales run along, or -1 for one scale for the whole tensor.</param>
internal sealed record QuantizedWeights(sbyte[] Values, float[] Scales, int Axis);

namespace Serverless.Inference.Optimization.Calibration;

/// <summary>The calibrated range of each activation a rewrite quantizes, and how many rows produced them.</summary>
internal sealed record ActivationRanges(IReadOnlyDictionary<string, ActivationRange> Ranges, int Rows);

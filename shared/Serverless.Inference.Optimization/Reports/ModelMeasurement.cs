namespace Serverless.Inference.Optimization.Reports;

/// <summary>A model's outputs on every sample row and what it cost.</summary>
internal sealed record ModelMeasurement(IReadOnlyList<CapturedOutput> Outputs, ModelCost Cost);

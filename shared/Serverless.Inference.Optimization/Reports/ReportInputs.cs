namespace Serverless.Inference.Optimization.Reports;

/// <summary>The rows the report was computed on.</summary>
/// <param name="Kind">"samples", "calibration" or "generated" (made up from the raw signature, run through the bare model).</param>
/// <param name="File">The file's name, or null for generated rows.</param>
internal sealed record ReportInputs(string Kind, string? File, int Rows);

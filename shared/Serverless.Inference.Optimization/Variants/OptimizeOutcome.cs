using Serverless.Inference.Optimization.Reports;

namespace Serverless.Inference.Optimization.Variants;

/// <summary>What became of a variant.</summary>
/// <param name="ReportPath">Where the report was written: in the new version folder, or beside the version folders when refused.</param>
internal sealed record OptimizeOutcome(OptimizationReport Report, string ReportPath)
{
    public bool Published => Report.Published;
}

using System.Globalization;

namespace Serverless.Inference.Optimization.Reports;

/// <summary>The thresholds a variant must meet to be published, and whether it met them.</summary>
/// <param name="MinCosine">Every output with a mean cosine similarity must reach this; null: not checked.</param>
/// <param name="MinAgreement">Every output with a top-1 agreement must reach this; null: not checked.</param>
/// <param name="Failures">Each missed threshold in words; empty when the variant passed.</param>
internal sealed record ReportGates(double? MinCosine, double? MinAgreement, IReadOnlyList<string> Failures)
{
    public bool Passed => Failures.Count == 0;

    public static ReportGates Check(double? minCosine, double? minAgreement, IReadOnlyList<OutputDifference> outputs)
    {
        var failures = new List<string>();
        if (minCosine is { } cosine)
        {
            Check(failures, "mean cosine", cosine, outputs, output => output.MeanCosine);
        }

        if (minAgreement is { } agreement)
        {
            Check(failures, "top-1 agreement", agreement, outputs, output => output.Top1Agreement);
        }

        return new ReportGates(minCosine, minAgreement, failures);
    }

    private static void Check(List<string> failures, string figure, double threshold, IReadOnlyList<OutputDifference> outputs, Func<OutputDifference, double?> read)
    {
        var measured = outputs.Where(output => read(output) is not null).ToList();
        if (measured.Count == 0)
        {
            failures.Add($"no output has a {figure} to hold to {Format(threshold)}");
        }

        // Written so that NaN (a broken variant) fails too.
        foreach (var output in measured.Where(output => !(read(output) >= threshold)))
        {
            failures.Add($"{output.Name}: {figure} {Format(read(output)!.Value)} is below {Format(threshold)}");
        }
    }

    private static string Format(double value) => value.ToString("0.0000", CultureInfo.InvariantCulture);
}

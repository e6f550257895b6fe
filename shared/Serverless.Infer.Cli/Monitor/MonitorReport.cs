namespace Serverless.Infer.Cli.Monitor;

/// <summary>The drift report: what was read on each side, each feature's comparison, and accuracy when labels were given.</summary>
internal sealed record MonitorReport(
    DateTimeOffset Generated,
    SourceSummary Baseline,
    SourceSummary Current,
    DriftThresholds Thresholds,
    IReadOnlyList<FeatureDrift> Features,
    IReadOnlyList<string> NotCompared,
    AccuracyReport? Accuracy)
{
    public bool Drift => Features.Any(f => f.Drift) || Accuracy?.BelowMinimum == true;
}

internal sealed record SourceSummary(
    string Source,
    long Objects,
    long Records,
    long Skipped,
    long Malformed,
    IReadOnlyList<string> MalformedExamples,
    long NotRows,
    long IgnoredValues,
    DateTimeOffset? First,
    DateTimeOffset? Last)
{
    public static SourceSummary Of(SourceProfile profile) => new(
        profile.Source, profile.Objects, profile.Records, profile.Skipped, profile.Malformed, profile.MalformedExamples,
        profile.NotRows, profile.IgnoredValues, profile.First, profile.Last);
}

/// <summary>One feature's comparison; the statistics that do not apply to its kind are null.</summary>
internal sealed record FeatureDrift(
    string Name,
    FeatureGroup Group,
    FeatureKind Kind,
    long BaselineCount,
    long CurrentCount,
    long Mismatched,
    bool Drift,
    IReadOnlyList<string> Reasons,
    Histogram? Chart)
{
    public double? Psi { get; init; }

    public double? Ks { get; init; }

    public double? KsPValue { get; init; }

    public double? ChiSquare { get; init; }

    public int? DegreesOfFreedom { get; init; }

    public double? ChiSquarePValue { get; init; }

    public double? BaselineMean { get; init; }

    public double? CurrentMean { get; init; }

    public double? CentroidDistance { get; init; }

    public double? CentroidCosine { get; init; }

    public double? BaselineMeanCosine { get; init; }

    public double? CurrentMeanCosine { get; init; }
}

/// <summary>Shares of each side per bin or category, for the report's charts.</summary>
internal sealed record Histogram(IReadOnlyList<string> Bins, IReadOnlyList<double> Baseline, IReadOnlyList<double> Current);

internal sealed record AccuracyReport(
    string? LabelOutput,
    int Labels,
    int LabelsUsed,
    long Matched,
    long Unmatched,
    long WithoutPrediction,
    double Accuracy,
    bool BelowMinimum,
    IReadOnlyList<AccuracyWindow> Windows);

/// <param name="Start">The window's start; null for records without a time (batch results, training data).</param>
internal sealed record AccuracyWindow(DateTimeOffset? Start, long Rows, long Correct, double Accuracy);

using Serverless.Inference.Repository;

namespace Serverless.Inference.Streaming;

/// <summary>
/// The <c>streaming</c> section of <c>model.json</c>: how records from a stream are scored and watched. Checked when the
/// manifest is read; whether outputs and inputs it names exist is checked against the loaded model (<see cref="StreamScorer"/>).
/// </summary>
/// <param name="Window">Score each record on the last readings of its partition key rather than on itself; none when null.</param>
/// <param name="MaxRecordsPerRun">The most records one predictions object holds: a stream batch is scored and committed in runs of this size.</param>
/// <param name="Alerts">Rules that raise an alert from a record's prediction.</param>
internal sealed record StreamingManifest(
    StreamWindowManifest? Window = null,
    int MaxRecordsPerRun = StreamingManifest.DefaultRecordsPerRun,
    IReadOnlyList<StreamAlertRuleManifest>? Alerts = null)
{
    public const int DefaultRecordsPerRun = 500;
    public const int MaxRecordsPerRunLimit = 10_000;
    public const int MaxWindowSize = 1_024;
    public const int MaxRules = 32;
    public const int MaxConsecutive = 1_000_000;
    public const int MaxRuleValues = 256;

    public IReadOnlyList<StreamAlertRuleManifest> Rules => Alerts ?? [];

    /// <summary>Whether a partition key's state (window readings, rule streaks, last position) is kept between records.</summary>
    public bool KeepsState => Window is not null || Rules.Any(rule => rule.Consecutive > 1);

    internal string? Problem()
    {
        if (MaxRecordsPerRun is < 1 or > MaxRecordsPerRunLimit)
        {
            return $"max_records_per_run must be between 1 and {MaxRecordsPerRunLimit}";
        }

        if (Window is { } window)
        {
            if (window.Size is < 1 or > MaxWindowSize)
            {
                return $"window.size must be between 1 and {MaxWindowSize}";
            }

            if (window.Input is not null && window.Input.Length == 0)
            {
                return "window.input, when given, names the model input the window fills";
            }
        }

        if (Rules.Count > MaxRules)
        {
            return $"at most {MaxRules} alert rules";
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var rule in Rules)
        {
            if (rule is null)
            {
                return "an alert rule is null";
            }

            if (rule.Problem() is { } problem)
            {
                return $"alert '{ModelNames.Printable(rule.Name)}': {problem}";
            }

            if (!names.Add(rule.Name))
            {
                return $"alert '{rule.Name}' is named twice";
            }
        }

        return null;
    }
}

/// <param name="Size">How many readings, the record's own last, make the model's input.</param>
/// <param name="Input">The model input the window fills; the model's only input when null.</param>
internal sealed record StreamWindowManifest(int Size = 0, string? Input = null);

/// <summary>
/// An alert rule: a record matches when an element of one output is in a set of labels, or above (or below) a threshold;
/// the rule fires on the record that makes a partition key's run of matches reach <paramref name="Consecutive"/>, and the run
/// starts again from zero.
/// </summary>
/// <param name="Index">Which element of the record's output is compared (e.g. a class's score); the first by default.</param>
internal sealed record StreamAlertRuleManifest(
    string Name = "",
    string Output = "",
    IReadOnlyList<string>? In = null,
    double? Above = null,
    double? Below = null,
    int Index = 0,
    int Consecutive = 1)
{
    internal string? Problem()
    {
        if (!ModelNames.IsValid(Name))
        {
            return $"name must match {ModelNames.Rule}";
        }

        if (string.IsNullOrEmpty(Output))
        {
            return "output must name a model output";
        }

        var tests = (In is null ? 0 : 1) + (Above is null ? 0 : 1) + (Below is null ? 0 : 1);
        if (tests != 1)
        {
            return "give exactly one of in, above or below";
        }

        if (In is { Count: 0 } || In?.Count > StreamingManifest.MaxRuleValues || In?.Any(value => value is null) == true)
        {
            return $"in must list between 1 and {StreamingManifest.MaxRuleValues} values";
        }

        if (Above is { } above && !double.IsFinite(above) || Below is { } below && !double.IsFinite(below))
        {
            return "above and below must be finite numbers";
        }

        if (Index < 0)
        {
            return "index must be 0 or more";
        }

        if (Consecutive is < 1 or > StreamingManifest.MaxConsecutive)
        {
            return $"consecutive must be between 1 and {StreamingManifest.MaxConsecutive}";
        }

        return null;
    }
}

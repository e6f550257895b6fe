using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace Serverless.Infer.Cli.Monitor;

/// <summary>The <c>infer monitor</c> command: its options, their checks and its help.</summary>
internal static class MonitorCommandLine
{
    public static Command Build()
    {
        var baseline = new Option<string>("--baseline", "-b")
        {
            Description = "The reference: a capture folder, s3://bucket/capture/<model>/<version>/..., https://<account>.blob.core.windows.net/capture/..., a batch result .jsonl, or training data (.csv with a header, or .jsonl records).",
            Required = true,
        };
        var current = new Option<string>("--current", "-c") { Description = "The window to check, in any form --baseline takes.", Required = true };
        var model = new Option<string?>("--model", "-m") { Description = "Only capture records of this model." };
        var version = new Option<string?>("--version") { Description = "Only capture records of this model version." };
        var from = Time("--from", "The current window starts at this UTC time (ISO 8601, e.g. 2026-12-01T18:00Z); hour folders before it are not read.");
        var to = Time("--to", "The current window ends before this UTC time.");
        var baselineFrom = Time("--baseline-from", "The baseline starts at this UTC time.");
        var baselineTo = Time("--baseline-to", "The baseline ends before this UTC time.");
        var labels = new Option<FileInfo?>("--labels") { Description = "A CSV of id,label (true labels of current record ids): accuracy per --window." };
        var labelOutput = new Option<string?>("--label-output") { Description = "The output holding the predicted label; default: the first string output." };
        var window = new Option<string>("--window") { Description = "Accuracy window: a number and s, m, h or d.", DefaultValueFactory = _ => "1h" };
        window.Validators.Add(result =>
        {
            if (ParseWindow(result.GetValueOrDefault<string>()) is null)
            {
                result.AddError("--window takes a positive number and a unit: 30m, 1h, 1d");
            }
        });
        var output = new Option<DirectoryInfo>("--out", "-o") { Description = "Folder for report.json and report.html.", DefaultValueFactory = _ => new DirectoryInfo("monitor-report") };
        var psi = Threshold("--psi", "Drift when a feature's Population Stability Index is above this.", 0.2);
        var ks = Threshold("--ks", "Drift when a numeric (or text length) feature's Kolmogorov-Smirnov D is above this.", 0.1);
        var chi2 = Threshold("--chi2-p", "Drift when a category feature's chi-square p-value is below this.", 0.01);
        var cosine = Threshold("--centroid-cosine", "Drift when the cosine between the baseline's and the current mean embedding is below this.", 0.95);
        var minAccuracy = new Option<double?>("--min-accuracy") { Description = "With --labels: drift when accuracy is below this (0 to 1)." };
        minAccuracy.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<double?>() is < 0 or > 1)
            {
                result.AddError("--min-accuracy is between 0 and 1");
            }
        });
        var endpoint = new Option<string?>("--endpoint") { Description = "S3-compatible endpoint URL (moto, MinIO); default: $AWS_ENDPOINT_URL_S3, else AWS." };

        var command = new Command("monitor", """
            Compare a window of captured predictions with a baseline: drift of every input and output, accuracy with labels.
            Numbers: PSI (baseline deciles) and Kolmogorov-Smirnov; strings: PSI and chi-square over categories, or their
            length when they have too many values; long vectors (embeddings): centroid cosine and mean cosine to it.
            Writes <out>/report.json and <out>/report.html (self-contained).

            Exit codes:
              0    reports written; nothing passed a threshold
              1    a source, the labels file or the output folder could not be read or written; or the command line is wrong
              2    the baseline or the current window has no records (all filtered out, or all lines malformed)
              3    reports written; some feature passed a threshold, or accuracy is below --min-accuracy
              4    the baseline and the current window have different columns (named in the message)
              5    no current record's id is in the labels file
              130  cancelled (Ctrl+C)
            """)
        {
            baseline, current, model, version, from, to, baselineFrom, baselineTo, labels, labelOutput, window, output,
            psi, ks, chi2, cosine, minAccuracy, endpoint,
        };
        command.SetAction((parse, cancellation) =>
        {
            var (modelName, versionName) = (parse.GetValue(model), parse.GetValue(version));
            return MonitorCommand.RunAsync(
                new MonitorSettings(
                    parse.GetValue(baseline)!,
                    parse.GetValue(current)!,
                    new RecordFilter(modelName, versionName, ParseTime(parse.GetValue(baselineFrom)), ParseTime(parse.GetValue(baselineTo))),
                    new RecordFilter(modelName, versionName, ParseTime(parse.GetValue(from)), ParseTime(parse.GetValue(to))),
                    parse.GetValue(output)!,
                    new DriftThresholds(parse.GetValue(psi), parse.GetValue(ks), parse.GetValue(chi2), parse.GetValue(cosine), parse.GetValue(minAccuracy)),
                    parse.GetValue(labels),
                    parse.GetValue(labelOutput),
                    ParseWindow(parse.GetValue(window)),
                    parse.GetValue(endpoint)),
                cancellation);
        });
        return command;
    }

    /// <summary>"90s", "15m", "1h", "2d"; null when not a positive duration.</summary>
    public static TimeSpan? ParseWindow(string? text)
    {
        if (text is not { Length: >= 2 } || !double.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var amount) || amount <= 0)
        {
            return null;
        }

        TimeSpan? window = text[^1] switch
        {
            's' => TimeSpan.FromSeconds(amount),
            'm' => TimeSpan.FromMinutes(amount),
            'h' => TimeSpan.FromHours(amount),
            'd' => TimeSpan.FromDays(amount),
            _ => null,
        };
        return window >= TimeSpan.FromSeconds(1) ? window : null;
    }

    private static DateTimeOffset? ParseTime(string? text) =>
        text is null ? null : DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    private static Option<string?> Time(string name, string description)
    {
        var option = new Option<string?>(name) { Description = description };
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string?>() is { } text && !DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out _))
            {
                result.AddError($"{name} takes a date and time, e.g. 2026-12-01T18:00Z");
            }
        });
        return option;
    }

    private static Option<double> Threshold(string name, string description, double value)
    {
        var option = new Option<double>(name) { Description = description, DefaultValueFactory = _ => value };
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<double>() is < 0 or double.NaN)
            {
                result.AddError($"{name} must be a number of at least 0");
            }
        });
        return option;
    }
}

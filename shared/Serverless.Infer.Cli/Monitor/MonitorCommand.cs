using Amazon.Runtime;
using Azure;
using Azure.Identity;
using Spectre.Console;

namespace Serverless.Infer.Cli.Monitor;

/// <summary>
/// <c>infer monitor</c>: reads the baseline, then the current window, each once and in bounded memory; compares every
/// feature; writes report.json and report.html; prints the table; exits non-zero when something drifted.
/// </summary>
internal static class MonitorCommand
{
    public static Task<int> RunAsync(MonitorSettings settings, CancellationToken cancellationToken) => RunAsync(settings, TimeProvider.System, cancellationToken);

    public static async Task<int> RunAsync(MonitorSettings settings, TimeProvider time, CancellationToken cancellationToken)
    {
        try
        {
            var report = await AnalyzeAsync(settings, time, cancellationToken);
            Directory.CreateDirectory(settings.Output.FullName);
            await File.WriteAllBytesAsync(Path.Combine(settings.Output.FullName, "report.json"), MonitorReportJson.Serialize(report), cancellationToken);
            await File.WriteAllTextAsync(Path.Combine(settings.Output.FullName, "report.html"), MonitorReportHtml.Render(report), cancellationToken);
            MonitorConsole.Show(report, settings.Output.FullName);
            return report.Drift ? MonitorExitCodes.Drift : MonitorExitCodes.Ok;
        }
        catch (MonitorException e)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
            return e.ExitCode;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            AnsiConsole.MarkupLine("[yellow]cancelled; no report was written[/]");
            return MonitorExitCodes.Cancelled;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or AmazonServiceException or AmazonClientException
            or RequestFailedException or AuthenticationFailedException or HttpRequestException or FormatException)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
            return MonitorExitCodes.Unreadable;
        }
    }

    public static async Task<MonitorReport> AnalyzeAsync(MonitorSettings settings, TimeProvider time, CancellationToken cancellationToken)
    {
        var baseline = await ProfileAsync(settings.Baseline, "baseline", settings.BaselineFilter, null, null, settings, cancellationToken);
        LabelAccuracy? accuracy = settings.Labels is { } labelsFile
            ? new LabelAccuracy(await LabelsFile.ReadAsync(labelsFile, cancellationToken), settings.LabelOutput, settings.Window ?? TimeSpan.FromHours(1))
            : null;
        var current = await ProfileAsync(settings.Current, "current window", settings.CurrentFilter, baseline, accuracy, settings, cancellationToken);
        var (compared, notCompared) = SchemaCheck.Match(baseline, current);
        var features = new DriftAnalyzer(settings.Thresholds).Compare(baseline, current, compared);
        return new MonitorReport(time.GetUtcNow(), SourceSummary.Of(baseline), SourceSummary.Of(current), settings.Thresholds, features, notCompared, Accuracy(accuracy, settings));
    }

    private static async Task<SourceProfile> ProfileAsync(
        string source, string side, RecordFilter filter, SourceProfile? baseline, LabelAccuracy? labels, MonitorSettings settings, CancellationToken cancellationToken)
    {
        var profile = new SourceProfile(source, baseline);
        var reader = new RecordReader(profile, filter, labels);
        await foreach (var item in CaptureSources.Parse(source, settings.S3Endpoint).ListAsync(cancellationToken))
        {
            if (CaptureHour.Of(item.Key) is { } hour && !filter.AdmitsHour(hour))
            {
                continue;
            }

            await using var stream = await item.OpenAsync(cancellationToken);
            await reader.ReadAsync(item.Key, stream, cancellationToken);
        }

        if (profile.Records == 0)
        {
            var why = profile.Objects == 0 ? "no .jsonl, .json or .csv object"
                : $"{profile.Objects:N0} object(s) but no record{(profile.Skipped > 0 ? $" of this model, version and time ({profile.Skipped:N0} others)" : "")}{(profile.Malformed > 0 ? $"; {profile.Malformed:N0} malformed line(s), the first: {profile.MalformedExamples[0]}" : "")}";
            throw new MonitorException(MonitorExitCodes.Empty, $"the {side} {source} has no records: {why}");
        }

        return profile;
    }

    private static AccuracyReport? Accuracy(LabelAccuracy? accuracy, MonitorSettings settings)
    {
        if (accuracy is null)
        {
            return null;
        }

        if (accuracy.Matched == 0)
        {
            throw new MonitorException(MonitorExitCodes.LabelsUnmatched, accuracy.Unmatched > 0 && accuracy.WithoutPrediction == 0
                ? $"none of the {accuracy.Unmatched:N0} current records has an id in {settings.Labels!.Name} ({accuracy.Labels:N0} labels): check that the labels are for these records"
                : $"no current record with an id in {settings.Labels!.Name} has a string output {(accuracy.LabelOutput is { } name ? $"'{name}'" : "")} to compare with");
        }

        var overall = (double)accuracy.Correct / accuracy.Matched;
        return new AccuracyReport(
            accuracy.LabelOutput, accuracy.Labels, accuracy.LabelsUsed, accuracy.Matched, accuracy.Unmatched, accuracy.WithoutPrediction, overall,
            settings.Thresholds.MinAccuracy is { } min && overall < min,
            [.. accuracy.Windows.Select(w => new AccuracyWindow(w.Start, w.Rows, w.Correct, (double)w.Correct / w.Rows))]);
    }
}

using System.Globalization;
using Spectre.Console;

namespace Serverless.Infer.Cli.Monitor;

/// <summary>The report as a console table, drifted features in red.</summary>
internal static class MonitorConsole
{
    public static void Show(MonitorReport report, string output)
    {
        foreach (var (name, side) in new[] { ("baseline", report.Baseline), ("current", report.Current) })
        {
            AnsiConsole.MarkupLineInterpolated(
                $"{name}: {side.Source}: {side.Records:N0} records in {side.Objects:N0} object(s){(side.Skipped > 0 ? $", {side.Skipped:N0} skipped by the filter" : "")}{(side.Malformed > 0 ? $", {side.Malformed:N0} malformed lines skipped" : "")}");
        }

        foreach (var note in report.NotCompared)
        {
            AnsiConsole.MarkupLineInterpolated($"[grey]not compared: {note}[/]");
        }

        var table = new Table().Border(TableBorder.Rounded).AddColumns("feature", "kind", "PSI", "KS / cosine", "p", "status");
        foreach (var feature in report.Features)
        {
            var p = feature.ChiSquarePValue ?? feature.KsPValue;
            table.AddRow(
                Markup.Escape($"{(feature.Group == FeatureGroup.Input ? "in" : "out")}: {feature.Name}"),
                feature.Kind.ToString().ToLowerInvariant(),
                Format(feature.Psi),
                Format(feature.Ks ?? feature.CentroidCosine),
                p is { } value ? value.ToString("G3", CultureInfo.InvariantCulture) : "",
                feature.Drift ? $"[red]drift[/] {Markup.Escape(string.Join(", ", feature.Reasons))}" : "[green]ok[/]");
        }

        AnsiConsole.Write(table);
        if (report.Accuracy is { } accuracy)
        {
            AnsiConsole.MarkupLineInterpolated(
                $"accuracy of {accuracy.LabelOutput}: {accuracy.Accuracy.ToString("P1", CultureInfo.InvariantCulture)} of {accuracy.Matched:N0} labelled records over {accuracy.Windows.Count} window(s); {accuracy.Unmatched:N0} records without a label");
            if (accuracy.BelowMinimum)
            {
                AnsiConsole.MarkupLine("[red]accuracy is below --min-accuracy[/]");
            }
        }

        AnsiConsole.MarkupLine((report.Drift ? "[red]drift[/]: " : "[green]no drift[/]: ") + Markup.Escape(Path.Combine(output, "report.html")));
    }

    private static string Format(double? value) => value is { } v ? v.ToString("F3", CultureInfo.InvariantCulture) : "";
}

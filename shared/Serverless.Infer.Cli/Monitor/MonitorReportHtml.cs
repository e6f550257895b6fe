using System.Globalization;
using System.Net;
using System.Text;

namespace Serverless.Infer.Cli.Monitor;

/// <summary>
/// The report as one self-contained HTML page: inline CSS and SVG charts only, no script, font, image or link to
/// anything outside the file, so it opens the same from a CI artifact, a mail or an air-gapped machine.
/// </summary>
internal static class MonitorReportHtml
{
    private const string BaselineColour = "#4c78a8";
    private const string CurrentColour = "#f58518";

    public static string Render(MonitorReport report)
    {
        var html = new StringBuilder();
        html.Append("""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>Drift report</title>
            <style>
            body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
            h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:24px 0 8px}
            table{border-collapse:collapse;font-size:13px}td,th{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right}
            td:first-child,th:first-child,td:last-child,th:last-child{text-align:left}.drift{color:#c0392b;font-weight:600}.ok{color:#27ae60}
            .charts{display:flex;flex-wrap:wrap;gap:12px}.chart{border:1px solid #ddd;padding:6px}.chart h3{font-size:13px;margin:0 0 4px}
            .muted{color:#777;font-size:12px}.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}
            </style></head><body>
            """);
        html.Append("<h1>Drift report: ").Append(report.Drift ? "<span class=\"drift\">drift</span>" : "<span class=\"ok\">no drift</span>").Append("</h1>");
        html.Append("<p class=\"muted\">generated ").Append(Text(report.Generated.ToString("u", CultureInfo.InvariantCulture)))
            .Append(Invariant($"; thresholds: PSI &gt; {report.Thresholds.Psi}, KS &gt; {report.Thresholds.Ks}, chi-square p &lt; {report.Thresholds.ChiSquareP}, centroid cosine &lt; {report.Thresholds.CentroidCosine}"))
            .Append(report.Thresholds.MinAccuracy is { } min ? Invariant($", accuracy &lt; {min}") : "").Append("</p>");
        Sources(html, report);
        Features(html, report);
        Charts(html, report);
        Accuracy(html, report.Accuracy, report.Thresholds.MinAccuracy);
        Malformed(html, "baseline", report.Baseline);
        Malformed(html, "current window", report.Current);
        html.Append("</body></html>\n");
        return html.ToString();
    }

    private static void Sources(StringBuilder html, MonitorReport report)
    {
        html.Append("<h2>Sources</h2><table><tr><th></th><th>source</th><th>objects</th><th>records</th><th>skipped (filter)</th><th>malformed</th><th>first</th><th>last</th></tr>");
        foreach (var (name, side) in new[] { ("baseline", report.Baseline), ("current", report.Current) })
        {
            html.Append("<tr><td>").Append(name).Append("</td><td>").Append(Text(side.Source)).Append("</td><td>").Append(Count(side.Objects))
                .Append("</td><td>").Append(Count(side.Records)).Append("</td><td>").Append(Count(side.Skipped)).Append("</td><td")
                .Append(side.Malformed > 0 ? " class=\"drift\">" : ">").Append(Count(side.Malformed)).Append("</td><td>")
                .Append(Text(side.First?.ToString("u", CultureInfo.InvariantCulture) ?? "")).Append("</td><td>")
                .Append(Text(side.Last?.ToString("u", CultureInfo.InvariantCulture) ?? "")).Append("</td></tr>");
        }

        html.Append("</table>");
        foreach (var note in report.NotCompared)
        {
            html.Append("<p class=\"muted\">not compared: ").Append(Text(note)).Append("</p>");
        }
    }

    private static void Features(StringBuilder html, MonitorReport report)
    {
        html.Append("<h2>Features</h2><table><tr><th>feature</th><th>kind</th><th>baseline</th><th>current</th><th>PSI</th><th>KS</th><th>KS p</th><th>chi-square p</th><th>centroid cosine</th><th>status</th></tr>");
        foreach (var feature in report.Features)
        {
            html.Append("<tr><td>").Append(Text(Label(feature))).Append("</td><td>").Append(Text(feature.Kind.ToString().ToLowerInvariant()))
                .Append("</td><td>").Append(Count(feature.BaselineCount)).Append("</td><td>").Append(Count(feature.CurrentCount))
                .Append("</td><td>").Append(Number(feature.Psi)).Append("</td><td>").Append(Number(feature.Ks)).Append("</td><td>").Append(Number(feature.KsPValue, "G3"))
                .Append("</td><td>").Append(Number(feature.ChiSquarePValue, "G3")).Append("</td><td>").Append(Number(feature.CentroidCosine))
                .Append("</td><td class=\"").Append(feature.Drift ? "drift\">drift: " : "ok\">ok").Append(Text(feature.Drift ? string.Join(", ", feature.Reasons) : "")).Append("</td></tr>");
        }

        html.Append("</table>");
    }

    private static void Charts(StringBuilder html, MonitorReport report)
    {
        html.Append("<h2>Distributions</h2><p class=\"legend muted\">share of rows:<span style=\"background:").Append(BaselineColour)
            .Append("\"></span>baseline<span style=\"background:").Append(CurrentColour).Append("\"></span>current</p><div class=\"charts\">");
        foreach (var feature in report.Features.Where(f => f.Chart is not null))
        {
            html.Append("<div class=\"chart\"><h3").Append(feature.Drift ? " class=\"drift\">" : ">").Append(Text(Label(feature)))
                .Append(feature.Kind == FeatureKind.Text ? " (length)" : "").Append("</h3>");
            Bars(html, feature.Chart!, feature.Kind == FeatureKind.Category);
            html.Append("</div>");
        }

        html.Append("</div>");
    }

    /// <summary>Baseline and current shares side by side per bin; categories are named under their bars.</summary>
    private static void Bars(StringBuilder html, Histogram chart, bool named)
    {
        const int Width = 360, Height = 150, Left = 34, Bottom = 30, Top = 8;
        var max = Math.Max(1e-9, chart.Baseline.Concat(chart.Current).Max());
        var slot = (Width - Left - 4) / (double)chart.Bins.Count;
        html.Append(Invariant($"<svg width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" role=\"img\">"));
        html.Append(Invariant($"<line x1=\"{Left}\" y1=\"{Height - Bottom}\" x2=\"{Width - 4}\" y2=\"{Height - Bottom}\" stroke=\"#999\"/>"));
        html.Append(Invariant($"<text x=\"{Left - 4}\" y=\"{Top + 8}\" font-size=\"10\" text-anchor=\"end\">{max * 100:F0}%</text>"));
        html.Append(Invariant($"<text x=\"{Left - 4}\" y=\"{Height - Bottom}\" font-size=\"10\" text-anchor=\"end\">0</text>"));
        var plot = Height - Bottom - Top;
        for (var i = 0; i < chart.Bins.Count; i++)
        {
            var x = Left + (i * slot);
            var barWidth = Math.Max(1, (slot / 2) - 1);
            foreach (var (share, offset, colour) in new[] { (chart.Baseline[i], 0.0, BaselineColour), (chart.Current[i], barWidth, CurrentColour) })
            {
                var h = share / max * plot;
                html.Append(Invariant($"<rect x=\"{x + offset:F1}\" y=\"{Height - Bottom - h:F1}\" width=\"{barWidth:F1}\" height=\"{h:F1}\" fill=\"{colour}\"><title>{Text(chart.Bins[i])}: {share * 100:F1}%</title></rect>"));
            }

            if (named || i == 0 || i == chart.Bins.Count - 1 || i == chart.Bins.Count / 2)
            {
                // A numeric bar is named by its lower edge, at its left; categories are centred under their bars.
                var label = chart.Bins[i].Length > 10 ? chart.Bins[i][..9] + "…" : chart.Bins[i];
                var (at, anchor) = named ? (x + (slot / 2), "middle") : (x, i == 0 ? "start" : "middle");
                html.Append(Invariant($"<text x=\"{at:F1}\" y=\"{Height - Bottom + 12}\" font-size=\"9\" text-anchor=\"{anchor}\">{Text(label)}</text>"));
            }
        }

        html.Append("</svg>");
    }

    private static void Accuracy(StringBuilder html, AccuracyReport? accuracy, double? minimum)
    {
        if (accuracy is null)
        {
            return;
        }

        html.Append("<h2>Accuracy</h2><p>").Append(Text(Invariant(
            $"{accuracy.LabelOutput ?? "(no string output)"} against {accuracy.Labels:N0} labels: {accuracy.Accuracy:P1} of {accuracy.Matched:N0} labelled records; {accuracy.Unmatched:N0} records had no label, {accuracy.WithoutPrediction:N0} no prediction, {accuracy.Labels - accuracy.LabelsUsed:N0} labels matched no record")))
            .Append(accuracy.BelowMinimum ? " <span class=\"drift\">below the minimum</span>" : "").Append("</p>");
        var windows = accuracy.Windows;
        if (windows.Count == 0)
        {
            return;
        }

        const int Width = 760, Height = 180, Left = 40, Bottom = 34, Top = 10;
        var slot = (Width - Left - 4) / (double)windows.Count;
        var plot = Height - Bottom - Top;
        html.Append(Invariant($"<svg width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" role=\"img\">"));
        html.Append(Invariant($"<line x1=\"{Left}\" y1=\"{Height - Bottom}\" x2=\"{Width - 4}\" y2=\"{Height - Bottom}\" stroke=\"#999\"/><text x=\"{Left - 4}\" y=\"{Top + 8}\" font-size=\"10\" text-anchor=\"end\">100%</text><text x=\"{Left - 4}\" y=\"{Height - Bottom}\" font-size=\"10\" text-anchor=\"end\">0</text>"));
        var labelEvery = Math.Max(1, windows.Count / 8);
        for (var i = 0; i < windows.Count; i++)
        {
            var h = windows[i].Accuracy * plot;
            var x = Left + (i * slot);
            var start = windows[i].Start?.ToString("MM-dd HH:mm", CultureInfo.InvariantCulture) ?? "no time";
            html.Append(Invariant($"<rect x=\"{x + 1:F1}\" y=\"{Height - Bottom - h:F1}\" width=\"{Math.Max(1, slot - 2):F1}\" height=\"{h:F1}\" fill=\"{BaselineColour}\"><title>{start}: {windows[i].Accuracy:P1} of {windows[i].Rows:N0}</title></rect>"));
            html.Append(Invariant($"<text x=\"{x + (slot / 2):F1}\" y=\"{Height - Bottom - h - 3:F1}\" font-size=\"9\" text-anchor=\"middle\">{windows[i].Accuracy * 100:F1}%</text>"));
            if (i % labelEvery == 0)
            {
                html.Append(Invariant($"<text x=\"{x + (slot / 2):F1}\" y=\"{Height - Bottom + 12}\" font-size=\"9\" text-anchor=\"middle\">{start}</text>"));
            }
        }

        if (minimum is { } min)
        {
            var y = Height - Bottom - (min * plot);
            html.Append(Invariant($"<line x1=\"{Left}\" y1=\"{y:F1}\" x2=\"{Width - 4}\" y2=\"{y:F1}\" stroke=\"#c0392b\" stroke-dasharray=\"4 3\"/><text x=\"{Width - 6}\" y=\"{y - 3:F1}\" font-size=\"9\" text-anchor=\"end\" fill=\"#c0392b\">minimum {min:P0}</text>"));
        }

        html.Append("</svg>");
    }

    private static void Malformed(StringBuilder html, string side, SourceSummary summary)
    {
        if (summary.Malformed == 0)
        {
            return;
        }

        html.Append("<h2>Malformed lines in the ").Append(side).Append("</h2><p>").Append(Count(summary.Malformed)).Append(" skipped; the first:</p><ul>");
        foreach (var example in summary.MalformedExamples)
        {
            html.Append("<li><code>").Append(Text(example)).Append("</code></li>");
        }

        html.Append("</ul>");
    }

    private static string Label(FeatureDrift feature) => $"{(feature.Group == FeatureGroup.Input ? "in" : "out")}: {feature.Name}";

    private static string Count(long count) => count.ToString("N0", CultureInfo.InvariantCulture);

    private static string Number(double? value, string format = "F3") => value is { } v ? v.ToString(format, CultureInfo.InvariantCulture) : "";

    private static string Text(string text) => WebUtility.HtmlEncode(text);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

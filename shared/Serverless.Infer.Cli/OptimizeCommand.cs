using System.Globalization;
using Serverless.Inference.Optimization;
using Serverless.Inference.Optimization.Reports;
using Serverless.Inference.Optimization.Variants;
using Spectre.Console;

namespace Serverless.Infer.Cli;

/// <summary><c>infer optimize</c>: a variant made, measured against its source, and published only when it is good enough.</summary>
internal static class OptimizeCommand
{
    public const int Published = 0;
    public const int Refused = 2;
    public const int ThresholdMissed = 3;
    public const int Cancelled = 130;

    public const string ExitCodes = """
        Exit codes:
          0    the variant was written as the next version folder, its record (and alias) added to model.json
          1    the command line itself is wrong
          2    refused, nothing written: unknown model, version or method; a model with nothing to rewrite; samples or
               calibration rows that are empty, malformed or do not fit the model; an invalid alias; a version that
               appeared meanwhile
          3    the variant missed --min-cosine or --min-agreement: not published; its report written beside the versions
          130  cancelled (Ctrl+C); nothing written
        """;

    public static Task<int> RunAsync(OptimizeRequest request, CancellationToken cancellationToken) =>
        RunAsync(request, new VariantMaker(), cancellationToken);

    public static async Task<int> RunAsync(OptimizeRequest request, VariantMaker maker, CancellationToken cancellationToken)
    {
        try
        {
            var outcome = await AnsiConsole.Status().StartAsync(
                $"Making the {Markup.Escape(request.Method)} variant of {Markup.Escape(request.Model)} and measuring both...",
                _ => maker.MakeAsync(request, cancellationToken));
            Show(outcome);
            return outcome.Published ? Published : ThresholdMissed;
        }
        catch (OptimizationException e)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
            AnsiConsole.MarkupLine("nothing was published");
            return Refused;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
            AnsiConsole.MarkupLine("nothing was published");
            return Refused;
        }
        catch (OperationCanceledException)
        {
            AnsiConsole.MarkupLine("[yellow]cancelled; nothing was published[/]");
            return Cancelled;
        }
    }

    private static void Show(OptimizeOutcome outcome)
    {
        var report = outcome.Report;
        var accuracy = new Table().Border(TableBorder.Rounded)
            .Title($"{Markup.Escape(report.Model)} {report.SourceVersion} → {report.Version} ({Markup.Escape(report.Method)}, {report.RewrittenNodes} nodes rewritten), on {report.Inputs.Rows} {Markup.Escape(report.Inputs.Kind)} rows")
            .AddColumns("[bold]output[/]", "[bold]max |diff|[/]", "[bold]mean |diff|[/]", "[bold]mean cosine[/]", "[bold]min cosine[/]", "[bold]top-1 agreement[/]");
        foreach (var output in report.Outputs)
        {
            accuracy.AddRow(
                Markup.Escape($"{output.Name} {output.Datatype}"),
                Figure(output.MaxAbsDiff, "G4"),
                Figure(output.MeanAbsDiff, "G4"),
                Figure(output.MeanCosine, "F5"),
                Figure(output.MinCosine, "F5"),
                output.Top1Agreement is { } agreement ? agreement.ToString("P1", CultureInfo.InvariantCulture) : "—");
        }

        AnsiConsole.Write(accuracy);

        var cost = new Table().Border(TableBorder.Rounded).AddColumns("", $"[bold]source ({report.SourceVersion})[/]", $"[bold]variant ({report.Version})[/]", "[bold]ratio[/]");
        cost.AddRow("model.onnx", Megabytes(report.Source.FileBytes), Megabytes(report.Variant.FileBytes), Ratio(report.Variant.FileBytes, report.Source.FileBytes));
        cost.AddRow(
            $"session creation (median of {report.Source.SessionCreations})",
            Milliseconds(report.Source.SessionCreateMs),
            Milliseconds(report.Variant.SessionCreateMs),
            Ratio(report.Variant.SessionCreateMs, report.Source.SessionCreateMs));
        foreach (var (batch, sourceMs) in report.Source.LatencyMs)
        {
            var variantMs = report.Variant.LatencyMs.GetValueOrDefault(batch);
            cost.AddRow($"latency, batch {batch} (median of {report.Source.LatencyRuns})", Milliseconds(sourceMs), Milliseconds(variantMs), Ratio(variantMs, sourceMs));
        }

        cost.AddRow(
            "peak memory growth",
            report.Source.RssGrowthBytes is { } sourceRss ? Megabytes(sourceRss) : "—",
            report.Variant.RssGrowthBytes is { } variantRss ? Megabytes(variantRss) : "—",
            report.Source.RssGrowthBytes is { } a && report.Variant.RssGrowthBytes is { } b ? Ratio(b, a) : "—");
        AnsiConsole.Write(cost);

        foreach (var failure in report.Gates.Failures)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]threshold missed:[/] {failure}");
        }

        if (outcome.Published)
        {
            AnsiConsole.MarkupLineInterpolated($"[green]published[/] {report.Model} version {report.Version}{(report.Alias is { } alias ? $" (alias {alias})" : "")}; report: {outcome.ReportPath}");
        }
        else
        {
            AnsiConsole.MarkupLineInterpolated($"[red]not published[/]; report: {outcome.ReportPath}");
        }
    }

    private static string Figure(double? value, string format) => value is { } v ? v.ToString(format, CultureInfo.InvariantCulture) : "—";

    private static string Megabytes(long bytes) => (bytes / 1048576.0).ToString("F1", CultureInfo.InvariantCulture) + " MB";

    private static string Milliseconds(double ms) => ms.ToString("F1", CultureInfo.InvariantCulture) + " ms";

    private static string Ratio(double variant, double source) => source <= 0 ? "—" : (variant / source).ToString("F2", CultureInfo.InvariantCulture) + "×";
}

using Serverless.Infer.Cli.Monitor;

namespace Serverless.Inference.Tests.Monitoring.Support;

/// <summary>Settings for a monitor run with the default thresholds and no filter.</summary>
internal static class MonitorRuns
{
    public static MonitorSettings Settings(string baseline, string current, string output, RecordFilter? currentFilter = null) =>
        new(baseline, current, new RecordFilter(null, null, null, null), currentFilter ?? new RecordFilter(null, null, null, null), new DirectoryInfo(output), new DriftThresholds());

    public static Task<MonitorReport> AnalyzeAsync(MonitorSettings settings) => MonitorCommand.AnalyzeAsync(settings, TimeProvider.System, CancellationToken.None);

    public static string[] Drifted(MonitorReport report) => [.. report.Features.Where(f => f.Drift).Select(f => $"{(f.Group == FeatureGroup.Input ? "inputs" : "outputs")}.{f.Name}").Order(StringComparer.Ordinal)];
}

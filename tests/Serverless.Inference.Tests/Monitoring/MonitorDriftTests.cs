using System.Text.Json;
using System.Text.RegularExpressions;
using Serverless.Infer.Cli.Monitor;
using Serverless.Inference.Tests.Monitoring.Support;

namespace Serverless.Inference.Tests.Monitoring;

/// <summary><c>infer monitor</c> over 20,000-row iris windows: what it flags, what it writes, what it returns.</summary>
public sealed partial class MonitorDriftTests(IrisWindows windows) : IClassFixture<IrisWindows>, IDisposable
{
    private readonly string _output = Directory.CreateTempSubdirectory("monitor-out-").FullName;

    public void Dispose() => Directory.Delete(_output, recursive: true);

    [Fact]
    public async Task AnalyzeAsync_ShiftedWindow_FlagsExactlyTheTwoShiftedFeaturesAndTheLabelShare()
    {
        var report = await MonitorRuns.AnalyzeAsync(MonitorRuns.Settings(windows.Baseline, windows.Shifted, _output));

        Assert.Equal(["inputs.Features[0]", "inputs.Features[2]", "outputs.PredictedLabel"], MonitorRuns.Drifted(report));
        Assert.Equal(8, report.Features.Count);
        Assert.Equal((IrisWindows.Rows, IrisWindows.Rows), (report.Baseline.Records, report.Current.Records));
        var label = report.Features.Single(f => f.Name == "PredictedLabel");
        Assert.Equal(FeatureKind.Category, label.Kind);
        Assert.True(label.ChiSquarePValue < 1e-10);
        var sepal = report.Features.Single(f => f.Name == "Features[0]");
        Assert.Equal(FeatureKind.Numeric, sepal.Kind);
        // A shift of one standard deviation: D is near 2Φ(0.5) − 1 = 0.383.
        Assert.InRange(sepal.Ks!.Value, 0.33, 0.43);
        Assert.All(report.Features.Where(f => !f.Drift && f.Kind == FeatureKind.Numeric), f => Assert.True(f.Ks < 0.03 && f.Psi < 0.02, $"{f.Name}: KS {f.Ks}, PSI {f.Psi}"));
    }

    [Fact]
    public async Task AnalyzeAsync_WindowFromTheSameDistributions_FlagsNothing()
    {
        var report = await MonitorRuns.AnalyzeAsync(MonitorRuns.Settings(windows.Baseline, windows.Same, _output));

        Assert.Empty(MonitorRuns.Drifted(report));
        Assert.False(report.Drift);
        Assert.Equal(8, report.Features.Count);
    }

    [Fact]
    public async Task RunAsync_ShiftedWindow_WritesBothReportsAndReturnsTheDriftCode()
    {
        var exit = await MonitorCommand.RunAsync(MonitorRuns.Settings(windows.Baseline, windows.Shifted, _output), CancellationToken.None);

        Assert.Equal(MonitorExitCodes.Drift, exit);
        using var json = JsonDocument.Parse(await File.ReadAllBytesAsync(Path.Combine(_output, "report.json")));
        Assert.True(json.RootElement.GetProperty("drift").GetBoolean());
        var features = json.RootElement.GetProperty("features").EnumerateArray().ToList();
        Assert.Equal(
            ["Features[0]", "Features[2]", "PredictedLabel"],
            features.Where(f => f.GetProperty("drift").GetBoolean()).Select(f => f.GetProperty("name").GetString()));
        Assert.Equal("numeric", features[0].GetProperty("kind").GetString());
        Assert.Equal(IrisWindows.Rows, json.RootElement.GetProperty("current").GetProperty("records").GetInt64());
        var html = await File.ReadAllTextAsync(Path.Combine(_output, "report.html"));
        Assert.Contains("<svg", html, StringComparison.Ordinal);
        Assert.Contains("Features[2]", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_SameDistributions_ReturnsZero()
    {
        Assert.Equal(MonitorExitCodes.Ok, await MonitorCommand.RunAsync(MonitorRuns.Settings(windows.Baseline, windows.Same, _output), CancellationToken.None));
        Assert.False(JsonDocument.Parse(await File.ReadAllBytesAsync(Path.Combine(_output, "report.json"))).RootElement.GetProperty("drift").GetBoolean());
    }

    [Fact]
    public async Task Html_RefersToNothingOutsideTheFile()
    {
        await MonitorCommand.RunAsync(MonitorRuns.Settings(windows.Baseline, windows.Shifted, _output), CancellationToken.None);

        var html = await File.ReadAllTextAsync(Path.Combine(_output, "report.html"));
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<link", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<img", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("@import", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("url(", html, StringComparison.OrdinalIgnoreCase);
        Assert.Empty(ExternalReference().Matches(html));
    }

    [Fact]
    public async Task AnalyzeAsync_FromTo_ReadsOnlyTheHourFoldersAroundTheRangeAndTheRecordsInIt()
    {
        var from = IrisWindows.CurrentStart.AddHours(2);
        var to = IrisWindows.CurrentStart.AddHours(3);
        var settings = MonitorRuns.Settings(windows.Baseline, windows.Same, _output, new RecordFilter("iris", "1", from, to));

        var report = await MonitorRuns.AnalyzeAsync(settings);

        // 5,000 rows an hour; hour 1 is read (its objects could run into hour 2) and skipped row by row; hours 0 and 3 are not read.
        Assert.Equal(IrisWindows.Rows / 4, report.Current.Records);
        Assert.Equal(IrisWindows.Rows / 4, report.Current.Skipped);
        Assert.Equal(2, report.Current.Objects);
        Assert.Equal(from, report.Current.First);
        Assert.True(report.Current.Last < to);
    }

    [GeneratedRegex(@"(src|href|xlink:href|action)\s*=\s*[""']?\s*(https?:|//|file:|data:)", RegexOptions.IgnoreCase)]
    private static partial Regex ExternalReference();
}

using System.Text;
using Serverless.Infer.Cli.Monitor;
using Serverless.Inference.Tests.Monitoring.Support;

namespace Serverless.Inference.Tests.Monitoring;

/// <summary>The user's mistakes: a clear message and a documented exit code each, never a stack trace.</summary>
public sealed class MonitorBadInputTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 10, 0, 0, TimeSpan.Zero);
    private readonly string _root = Directory.CreateTempSubdirectory("monitor-bad-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Baseline => Path.Combine(_root, "baseline");

    private string Output => Path.Combine(_root, "out");

    [Fact]
    public async Task EmptyWindow_NoObjects_IsRefusedWithTheEmptyCode()
    {
        IrisCapture.WriteWindow(Baseline, Start, 500, seed: 1, IrisShift.None);
        var empty = Directory.CreateDirectory(Path.Combine(_root, "empty")).FullName;

        var error = await Assert.ThrowsAsync<MonitorException>(() => MonitorRuns.AnalyzeAsync(MonitorRuns.Settings(Baseline, empty, Output)));

        Assert.Equal(MonitorExitCodes.Empty, error.ExitCode);
        Assert.Contains("the current window", error.Message, StringComparison.Ordinal);
        Assert.Contains("no .jsonl, .json or .csv object", error.Message, StringComparison.Ordinal);
        Assert.Equal(MonitorExitCodes.Empty, await MonitorCommand.RunAsync(MonitorRuns.Settings(Baseline, empty, Output), CancellationToken.None));
        Assert.False(Directory.Exists(Output));
    }

    [Fact]
    public async Task EmptyWindow_EveryRecordFilteredOut_SaysHowManyOthersThereWere()
    {
        IrisCapture.WriteWindow(Baseline, Start, 500, seed: 1, IrisShift.None);

        var error = await Assert.ThrowsAsync<MonitorException>(() => MonitorRuns.AnalyzeAsync(
            MonitorRuns.Settings(Baseline, Baseline, Output, new RecordFilter("resnet18", null, null, null))));

        Assert.Equal(MonitorExitCodes.Empty, error.ExitCode);
        Assert.Contains("500 others", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EmptyWindow_OnlyMalformedLines_ShowsTheFirst()
    {
        IrisCapture.WriteWindow(Baseline, Start, 500, seed: 1, IrisShift.None);
        var current = Path.GetDirectoryName(Write("garbage/x.jsonl", "not json\n[1,2]\n"))!;

        var error = await Assert.ThrowsAsync<MonitorException>(() => MonitorRuns.AnalyzeAsync(MonitorRuns.Settings(Baseline, current, Output)));

        Assert.Equal(MonitorExitCodes.Empty, error.ExitCode);
        Assert.Contains("2 malformed line(s), the first: x.jsonl:1: not JSON", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MalformedLines_AreSkippedCountedAndShownInTheReport()
    {
        IrisCapture.WriteWindow(Baseline, Start, 2000, seed: 1, IrisShift.None);
        var current = Path.Combine(_root, "current");
        IrisCapture.WriteWindow(current, Start.AddDays(1), 2000, seed: 2, IrisShift.None, hours: 1);
        var file = Directory.EnumerateFiles(current, "*.jsonl", SearchOption.AllDirectories).Single();
        await using (var append = new FileStream(file, FileMode.Append))
        {
            append.Write("{\"time\":\"2026-12-02T00:10:00Z\",\"inputs\":{\"Features\":[1,2,3\n"u8);
            append.Write("42\n"u8);
            append.Write("{\"time\":\"yesterday\",\"inputs\":{\"Features\":[1,2,3,4]}}\n"u8);
            append.Write([(byte)'{', 0xff, 0xfe, (byte)'}', (byte)'\n']);
            append.Write(Encoding.UTF8.GetBytes("{\"text\":\"" + new string('x', LineReader.MaxLineBytes + 10) + "\"}\n"));
            append.Write("\n"u8);
        }

        var report = await MonitorRuns.AnalyzeAsync(MonitorRuns.Settings(Baseline, current, Output));

        Assert.Equal(2000, report.Current.Records);
        Assert.Equal(5, report.Current.Malformed);
        Assert.Collection(
            report.Current.MalformedExamples,
            e => Assert.Contains(":2001: not JSON", e, StringComparison.Ordinal),
            e => Assert.EndsWith(":2002: not a JSON object", e, StringComparison.Ordinal),
            e => Assert.EndsWith(":2003: \"time\" is not a date and time", e, StringComparison.Ordinal),
            e => Assert.EndsWith(":2004: not valid UTF-8", e, StringComparison.Ordinal),
            e => Assert.EndsWith(":2005: longer than 1,048,576 bytes", e, StringComparison.Ordinal));
        Assert.Empty(MonitorRuns.Drifted(report));
        await MonitorCommand.RunAsync(MonitorRuns.Settings(Baseline, current, Output), CancellationToken.None);
        Assert.Contains("Malformed lines in the current window", await File.ReadAllTextAsync(Path.Combine(Output, "report.html")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task DifferentSchemas_NameTheColumnsMissingOnEachSide()
    {
        IrisCapture.WriteWindow(Baseline, Start, 200, seed: 1, IrisShift.None);
        var lines = new StringBuilder();
        for (var i = 0; i < 100; i++)
        {
            lines.Append(System.Globalization.CultureInfo.InvariantCulture,
                $"{{\"time\":\"2026-12-02T00:00:{i % 60:D2}Z\",\"model\":\"iris\",\"version\":\"1\",\"id\":\"r{i}\",\"inputs\":{{\"Features\":[5.1,3.5,1.4],\"Extra\":{i}}},\"outputs\":{{\"Score\":[0.9,0.05,0.05],\"PredictedLabel\":\"setosa\"}}}}\n");
        }

        Write("current/capture/iris/1/2026/12/02/00/a-00000000.jsonl", lines.ToString());
        var current = Path.Combine(_root, "current");

        var error = await Assert.ThrowsAsync<MonitorException>(() => MonitorRuns.AnalyzeAsync(MonitorRuns.Settings(Baseline, current, Output)));

        Assert.Equal(MonitorExitCodes.SchemaMismatch, error.ExitCode);
        Assert.Equal(
            "the baseline and the current window have different columns: missing in the current window: inputs.Features[3]; missing in the baseline: inputs.Extra",
            error.Message);
        Assert.Equal(MonitorExitCodes.SchemaMismatch, await MonitorCommand.RunAsync(MonitorRuns.Settings(Baseline, current, Output), CancellationToken.None));
    }

    [Fact]
    public async Task DifferentTypes_ForOneColumn_AreASchemaMismatch()
    {
        Write("a.jsonl", "{\"id\":\"1\",\"size\":3}\n{\"id\":\"2\",\"size\":4}\n");
        Write("b.jsonl", "{\"id\":\"1\",\"size\":\"large\"}\n");

        var error = await Assert.ThrowsAsync<MonitorException>(() => MonitorRuns.AnalyzeAsync(
            MonitorRuns.Settings(Path.Combine(_root, "a.jsonl"), Path.Combine(_root, "b.jsonl"), Output)));

        Assert.Equal(MonitorExitCodes.SchemaMismatch, error.ExitCode);
        Assert.Contains("of another type on each side: inputs.size", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Labels_MatchingNoRecord_IsAnErrorWithItsOwnCode()
    {
        IrisCapture.WriteWindow(Baseline, Start, 300, seed: 1, IrisShift.None);
        var labels = Write("labels.csv", "id,label\nnobody-1,setosa\nnobody-2,virginica\n");
        var settings = MonitorRuns.Settings(Baseline, Baseline, Output) with { Labels = new FileInfo(labels) };

        var error = await Assert.ThrowsAsync<MonitorException>(() => MonitorRuns.AnalyzeAsync(settings));

        Assert.Equal(MonitorExitCodes.LabelsUnmatched, error.ExitCode);
        Assert.Contains("none of the 300 current records has an id in labels.csv (2 labels)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Labels_FileMissingOrWithThreeColumns_IsUnreadable()
    {
        IrisCapture.WriteWindow(Baseline, Start, 100, seed: 1, IrisShift.None);
        var settings = MonitorRuns.Settings(Baseline, Baseline, Output);
        var wide = Write("wide.csv", "id,label\nreq-1-0,setosa,extra\n");

        Assert.Equal(MonitorExitCodes.Unreadable, await MonitorCommand.RunAsync(settings with { Labels = new FileInfo(Path.Combine(_root, "none.csv")) }, CancellationToken.None));
        var error = await Assert.ThrowsAsync<MonitorException>(() => MonitorRuns.AnalyzeAsync(settings with { Labels = new FileInfo(wide) }));
        Assert.Equal("wide.csv:2: expected two columns, id and label; found 3", error.Message);
    }

    [Fact]
    public async Task UnreadableSource_ReturnsOne()
    {
        IrisCapture.WriteWindow(Baseline, Start, 100, seed: 1, IrisShift.None);

        var error = await Assert.ThrowsAsync<MonitorException>(() => MonitorRuns.AnalyzeAsync(MonitorRuns.Settings(Baseline, Path.Combine(_root, "nowhere"), Output)));

        Assert.Equal(MonitorExitCodes.Unreadable, error.ExitCode);
        Assert.EndsWith("nowhere is neither a folder nor a file", error.Message, StringComparison.Ordinal);
        Assert.Equal(MonitorExitCodes.Unreadable, await MonitorCommand.RunAsync(MonitorRuns.Settings("s3://", Baseline, Output), CancellationToken.None));
    }

    private string Write(string relative, string text)
    {
        var path = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }
}

using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Serverless.Infer.Cli;
using Serverless.Inference.Batch;
using Serverless.Inference.Tests.Batch.Support;
using Serverless.Inference.Tests.Support;

namespace Serverless.Inference.Tests.Cli;

/// <summary>
/// <c>infer score</c> end to end. One class, so its tests run one after another: the command's progress
/// display is console-wide and refuses to run twice at once.
/// </summary>
public sealed class ScoreCommandTests : IDisposable
{
    /// <summary>A guard against a test hanging forever; never a timing assertion.</summary>
    private static readonly TimeSpan HangGuard = TimeSpan.FromMinutes(2);

    private readonly TempModelRepository _repository = BatchModels.AddAll(new TempModelRepository());
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "score-tests-" + Guid.NewGuid().ToString("N"));

    public ScoreCommandTests() => Directory.CreateDirectory(_folder);

    public void Dispose()
    {
        _repository.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task RunAsync_AllRowsOk_WritesResultsAndSummaryBesideTheInputAndReturnsZero()
    {
        var input = Write("flowers.csv", $"id,{IrisExpected.Header}\n" + string.Concat(Enumerable.Range(0, 3).Select(i => $"{i},{IrisExpected.Csv(i)}\n")));

        var exit = await ScoreCommand.RunAsync(Settings(input, BatchModels.Iris), CancellationToken.None);

        Assert.Equal(0, exit);
        Assert.Equal(["flowers.csv", "flowers.results.csv", "flowers.results.summary.json"], Files());
        var records = CsvText.Parse(File.ReadAllText(Path.Combine(_folder, "flowers.results.csv")));
        Assert.Equal("error", records[0][^1]);
        Assert.Equal(IrisExpected.Labels, records.Skip(1).Select(r => r[^2]));
        using var summary = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(_folder, "flowers.results.summary.json")));
        var json = summary.RootElement;
        Assert.Equal("iris", json.GetProperty("model").GetString());
        Assert.Equal(input.FullName, json.GetProperty("input").GetString());
        Assert.Equal(Path.Combine(_folder, "flowers.results.csv"), json.GetProperty("output").GetString());
        Assert.Equal("csv", json.GetProperty("format").GetString());
        Assert.Equal((3, 3, 0), (json.GetProperty("rows_in").GetInt32(), json.GetProperty("rows_ok").GetInt32(), json.GetProperty("rows_failed").GetInt32()));
    }

    [Fact]
    public async Task RunAsync_ThreeWorkers_SameResultsAsOneInShardsAddedUp()
    {
        // About 1.9 MB: two shards of at least 1 MiB each.
        var rows = string.Concat(Enumerable.Range(0, 60_000).Select(i => i % 997 == 0 ? $"{i},1,2\n" : $"{i},{IrisExpected.Csv(i % IrisExpected.Count)}\n"));
        var one = Write("one.csv", $"id,{IrisExpected.Header}\n" + rows);
        var three = Write("three.csv", $"id,{IrisExpected.Header}\n" + rows);

        Assert.Equal(3, await ScoreCommand.RunAsync(Settings(one, BatchModels.Iris), CancellationToken.None));
        Assert.Equal(3, await ScoreCommand.RunAsync(Settings(three, BatchModels.Iris) with { Workers = 3 }, CancellationToken.None));

        Assert.Equal(File.ReadAllBytes(Path.Combine(_folder, "one.results.csv")), File.ReadAllBytes(Path.Combine(_folder, "three.results.csv")));
        using var summary = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(_folder, "three.results.summary.json")));
        var json = summary.RootElement;
        Assert.Equal((60_000, 61), (json.GetProperty("rows_in").GetInt32(), json.GetProperty("rows_failed").GetInt32()));
        Assert.Equal(2, json.GetProperty("shards").GetInt32());
        Assert.Equal(three.FullName, json.GetProperty("input").GetString());
        Assert.Equal(["one.csv", "one.results.csv", "one.results.summary.json", "three.csv", "three.results.csv", "three.results.summary.json"], Files());
    }

    [Fact]
    public async Task RunAsync_SomeRowsFailed_WritesEveryRowAndReturnsThree()
    {
        var input = Write("mixed.jsonl", $"{IrisExpected.Json(0)}\n[1,2]\n{IrisExpected.Json(2)}\n");

        var exit = await ScoreCommand.RunAsync(Settings(input, BatchModels.Iris), CancellationToken.None);

        Assert.Equal(3, exit);
        Assert.Equal(["mixed.jsonl", "mixed.results.jsonl", "mixed.results.summary.json"], Files());
        var lines = File.ReadAllLines(Path.Combine(_folder, "mixed.results.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        Assert.Equal(3, lines.Count);
        IrisExpected.AssertOutputs(0, lines[0].GetProperty("outputs"));
        Assert.Equal("input 'Features' has 2 data elements but its shape needs 4", lines[1].GetProperty("error").GetString());
        IrisExpected.AssertOutputs(2, lines[2].GetProperty("outputs"));
        using var summary = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(_folder, "mixed.results.summary.json")));
        Assert.Equal(1, summary.RootElement.GetProperty("rows_failed").GetInt32());
    }

    [Fact]
    public async Task RunAsync_ExplicitOutputFormatAndBatchSize_AreHonoured()
    {
        var input = Write("rows.txt", $"{IrisExpected.Json(1)}\n{IrisExpected.Json(1)}\n{IrisExpected.Json(1)}\n");
        var output = new FileInfo(Path.Combine(_folder, "out", "scored.jsonl"));
        Directory.CreateDirectory(output.DirectoryName!);

        var exit = await ScoreCommand.RunAsync(
            Settings(input, BatchModels.Iris) with { Output = output, Format = BatchFormat.Jsonl, MicroBatchSize = 2, Version = "1" },
            CancellationToken.None);

        Assert.Equal(0, exit);
        Assert.Equal(["out/scored.jsonl", "out/scored.summary.json", "rows.txt"], Files());
        Assert.Equal(3, File.ReadAllLines(output.FullName).Length);
        using var summary = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(_folder, "out", "scored.summary.json")));
        Assert.Equal(2, summary.RootElement.GetProperty("micro_batch_size").GetInt32());
        Assert.Equal("1", summary.RootElement.GetProperty("model_version").GetString());
    }

    [Fact]
    public async Task RunAsync_PreviousResultsExist_AreReplaced()
    {
        var input = Write("again.jsonl", IrisExpected.Json(2) + "\n");
        Write("again.results.jsonl", "stale\n");

        var exit = await ScoreCommand.RunAsync(Settings(input, BatchModels.Iris), CancellationToken.None);

        Assert.Equal(0, exit);
        using var line = JsonDocument.Parse(File.ReadAllText(Path.Combine(_folder, "again.results.jsonl")));
        IrisExpected.AssertOutputs(2, line.RootElement.GetProperty("outputs"));
    }

    [Fact]
    public async Task RunAsync_MissingFile_ReturnsTwoAndWritesNothing()
    {
        var exit = await ScoreCommand.RunAsync(Settings(new FileInfo(Path.Combine(_folder, "missing.csv")), BatchModels.Iris), CancellationToken.None);

        Assert.Equal(2, exit);
        Assert.Empty(Files());
    }

    [Fact]
    public async Task RunAsync_UnknownExtensionWithoutFormat_ReturnsTwoAndWritesNothing()
    {
        var input = Write("rows.txt", IrisExpected.Json(0) + "\n");

        var exit = await ScoreCommand.RunAsync(Settings(input, BatchModels.Iris), CancellationToken.None);

        Assert.Equal(2, exit);
        Assert.Equal(["rows.txt"], Files());
    }

    [Theory]
    [InlineData("nomodel", "data.csv", "sepal_length\n1\n")]
    [InlineData(BatchModels.Iris, "data.csv", "a,b\n1,2\n")]
    public async Task RunAsync_UnknownModelOrUnmappableFile_ReturnsOneAndLeavesNoResults(string model, string name, string content)
    {
        var input = Write(name, content);

        var exit = await ScoreCommand.RunAsync(Settings(input, model), CancellationToken.None);

        Assert.Equal(1, exit);
        Assert.Equal([name], Files());
    }

    [Fact]
    public async Task RunAsync_CancelledMidFile_Returns130AndLeavesNoResultsNorPartFile()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // A named pipe stands in for a file being read; Windows has no mkfifo.
        }

        // The input is a FIFO: a write returns only once the command has read most of what came before,
        // so cancelling after the first writes lands mid-file, with no timing involved.
        var fifo = Path.Combine(_folder, "stream.jsonl");
        using (var mkfifo = Process.Start(new ProcessStartInfo("mkfifo", [fifo]) { UseShellExecute = false })!)
        {
            await mkfifo.WaitForExitAsync();
            Assert.Equal(0, mkfifo.ExitCode);
        }

        using var cancel = new CancellationTokenSource();
        var run = Task.Run(() => ScoreCommand.RunAsync(Settings(new FileInfo(fifo), BatchModels.Iris) with { MicroBatchSize = 64 }, cancel.Token));
        var row = Encoding.UTF8.GetBytes(IrisExpected.Json(1) + "\n");

        // Opening a FIFO blocks until the other end opens too; the command must get as far as reading it.
        var open = Task.Run(() => new FileStream(fifo, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1, useAsync: false));
        if (await Task.WhenAny(open, run).WaitAsync(HangGuard) != open)
        {
            using (new FileStream(fifo, FileMode.Open, FileAccess.Read))
            {
            }

            Assert.Fail($"the command ended with {await run} before reading its input");
        }

        await using (var writer = await open)
        {
            var chunk = Enumerable.Repeat(row, 1000).SelectMany(r => r).ToArray();
            for (var i = 0; i < 32; i++)
            {
                await writer.WriteAsync(chunk);
            }

            await cancel.CancelAsync();
            try
            {
                // More rows after the cancellation, so the command runs the model again and sees it.
                await writer.WriteAsync(chunk);
            }
            catch (IOException)
            {
                // The command stopped reading first: the pipe is closed.
            }
        }

        Assert.Equal(130, await run.WaitAsync(HangGuard));
        Assert.Equal(["stream.jsonl"], Files());
    }

    private ScoreSettings Settings(FileInfo input, string model) => new(_repository.Root, input, model, null, null, null, null);

    private FileInfo Write(string name, string content)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllText(path, content);
        return new FileInfo(path);
    }

    /// <summary>Every file in the test folder, as sorted relative paths: a leftover .part file shows up here.</summary>
    private List<string> Files() =>
        [.. Directory.EnumerateFiles(_folder, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(_folder, f).Replace('\\', '/'))
            .Order(StringComparer.Ordinal)];
}

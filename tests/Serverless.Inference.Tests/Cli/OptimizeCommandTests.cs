using System.Text.RegularExpressions;
using Microsoft.Extensions.Time.Testing;
using Serverless.Infer.Cli;
using Serverless.Inference.Optimization.Reports;
using Serverless.Inference.Optimization.Variants;
using Serverless.Inference.Tests.Optimization;
using Serverless.Inference.Tests.Support;

namespace Serverless.Inference.Tests.Cli;

/// <summary>
/// <c>infer optimize</c>'s exit codes and messages: in process for the outcomes (with a rewrite whose effect is
/// known), and as a user runs it for the command line and refusals. One class: the console status display refuses
/// to run twice at once.
/// </summary>
public sealed class OptimizeCommandTests : IDisposable
{
    /// <summary>A guard against a test hanging forever; never a timing assertion.</summary>
    private static readonly TimeSpan HangGuard = TimeSpan.FromMinutes(3);

    private readonly TempModelRepository _repository = new();
    private readonly string _folder = Directory.CreateTempSubdirectory("optimize-cli-").FullName;

    public OptimizeCommandTests()
    {
        _repository.Add("swap", SwapColumns.SourceModel(), manifest: """{ "max_batch_size": 8 }""");
        File.WriteAllLines(Path.Combine(_folder, "samples.jsonl"), ["{\"x\":[1,0,0,0]}", "{\"x\":[3,4,0,0]}", "{\"x\":[2,2,0,0]}"]);
    }

    public void Dispose()
    {
        _repository.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task RunAsync_Passing_ReturnsZeroAndPublishes()
    {
        var exit = await OptimizeCommand.RunAsync(Request() with { PublishAlias = "fast" }, Maker(), CancellationToken.None);

        Assert.Equal(OptimizeCommand.Published, exit);
        Assert.True(File.Exists(Path.Combine(_repository.Root, "swap", "2", "model.onnx")));
    }

    [Fact]
    public async Task RunAsync_ThresholdMissed_ReturnsThreeAndPublishesNothing()
    {
        var exit = await OptimizeCommand.RunAsync(Request() with { MinCosine = 0.99 }, Maker(), CancellationToken.None);

        Assert.Equal(OptimizeCommand.ThresholdMissed, exit);
        Assert.False(Directory.Exists(Path.Combine(_repository.Root, "swap", "2")));
        Assert.Single(Directory.GetFiles(Path.Combine(_repository.Root, "swap"), "optimization-report.int8-dynamic.rejected.*.json"));
    }

    [Fact]
    public async Task RunAsync_Refused_ReturnsTwo()
    {
        var exit = await OptimizeCommand.RunAsync(Request() with { Model = "nope" }, Maker(), CancellationToken.None);

        Assert.Equal(OptimizeCommand.Refused, exit);
    }

    [Theory]
    [InlineData("unknown model 'nope'", "nope", "--method", "int8-dynamic")]
    [InlineData("unknown method 'int4'", "swap", "--method", "int4")]
    [InlineData("model 'swap' has no version '7'", "swap", "--method", "int8-dynamic", "--version", "7")]
    [InlineData("--publish: invalid alias 'no/slash'", "swap", "--method", "int8-dynamic", "--publish", "no/slash")]
    [InlineData("empty.jsonl is empty", "swap", "--method", "int8-dynamic", "--samples", "empty.jsonl")]
    [InlineData("bad.jsonl line 2: not valid JSON", "swap", "--method", "int8-dynamic", "--samples", "bad.jsonl")]
    public async Task Infer_BadInput_OneClearMessageNoStackTraceExitTwo(string message, params string[] arguments)
    {
        File.WriteAllText(Path.Combine(_folder, "empty.jsonl"), "");
        File.WriteAllText(Path.Combine(_folder, "bad.jsonl"), "{\"x\":[1,0,0,0]}\n{\"x\":[1,\n");

        using var optimize = InferProcess.Start(_folder, InferProcess.Infer, ["optimize", .. arguments, "--repository", _repository.Root]);
        var exit = await optimize.WaitForExitAsync(HangGuard);

        Assert.True(exit == OptimizeCommand.Refused, optimize.Output);
        Assert.Contains(message, Regex.Replace(optimize.Output, @"\s+", " "), StringComparison.Ordinal);
        Assert.Contains("nothing was published", Regex.Replace(optimize.Output, @"\s+", " "), StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", optimize.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("\n   at ", optimize.Output, StringComparison.Ordinal);
        Assert.Equal(["1"], Directory.GetDirectories(Path.Combine(_repository.Root, "swap")).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Infer_NoMethod_IsAUsageErrorExitOne()
    {
        using var optimize = InferProcess.Start(_folder, InferProcess.Infer, "optimize", "swap", "--repository", _repository.Root);
        var exit = await optimize.WaitForExitAsync(HangGuard);

        Assert.Equal(1, exit);
        Assert.Contains("--method", optimize.Output, StringComparison.Ordinal);
    }

    private OptimizeRequest Request() => new(_repository.Root, "swap", null, "int8-dynamic", SamplesFile: Path.Combine(_folder, "samples.jsonl"));

    private static VariantMaker Maker() => new(new FakeTimeProvider(DateTimeOffset.UnixEpoch), new MeasureOptions(1, 2), _ => new SwapColumns());
}

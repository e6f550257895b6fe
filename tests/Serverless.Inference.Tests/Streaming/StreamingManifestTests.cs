using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Serverless.Inference.Repository;
using Serverless.Inference.Streaming;
using Serverless.Inference.Tests.Batch.Support;
using Serverless.Inference.Tests.Streaming.Support;

namespace Serverless.Inference.Tests.Streaming;

public sealed class StreamingManifestTests(StreamModels models) : IClassFixture<StreamModels>
{
    [Fact]
    public void Parse_FullSection_ReadsEveryMember()
    {
        var manifest = Parse("""
            {"streaming": {"window": {"size": 5, "input": "x"}, "max_records_per_run": 256, "alerts": [
              {"name": "failure-risk", "output": "PredictedLabel", "in": ["failure"], "consecutive": 3},
              {"name": "hot", "output": "Score", "index": 1, "above": 0.9},
              {"name": "cold", "output": "Score", "below": -2.5}]}}
            """).Streaming!;

        Assert.Equal(new StreamWindowManifest(5, "x"), manifest.Window);
        Assert.Equal(256, manifest.MaxRecordsPerRun);
        Assert.Equal(["failure"], manifest.Rules[0].In);
        Assert.Equal(("failure-risk", "PredictedLabel", 3, 0), (manifest.Rules[0].Name, manifest.Rules[0].Output, manifest.Rules[0].Consecutive, manifest.Rules[0].Index));
        Assert.Equal((1, 0.9, 1), (manifest.Rules[1].Index, manifest.Rules[1].Above, manifest.Rules[1].Consecutive));
        Assert.Equal(-2.5, manifest.Rules[2].Below);
        Assert.True(manifest.KeepsState);
        Assert.False(Parse("""{"streaming": {"alerts": [{"name": "hot", "output": "Score", "above": 0.9}]}}""").Streaming!.KeepsState);
        Assert.Equal(StreamingManifest.DefaultRecordsPerRun, Parse("""{"streaming": {}}""").Streaming!.MaxRecordsPerRun);
    }

    [Theory]
    [InlineData("""{"windows": {"size": 3}}""", "windows")]
    [InlineData("""{"window": {"size": 3, "stride": 1}}""", "stride")]
    [InlineData("""{"alerts": [{"name": "a", "output": "y", "in": ["x"], "every": 2}]}""", "every")]
    [InlineData("""{"window": {"size": 0}}""", "window.size must be between 1 and 1024")]
    [InlineData("""{"window": {"size": 1025}}""", "window.size must be between 1 and 1024")]
    [InlineData("""{"window": {"input": "x"}}""", "window.size must be between 1 and 1024")]
    [InlineData("""{"max_records_per_run": 0}""", "max_records_per_run must be between 1 and 10000")]
    [InlineData("""{"max_records_per_run": 10001}""", "max_records_per_run must be between 1 and 10000")]
    [InlineData("""{"alerts": [{"name": "a", "output": "y", "in": ["x"], "consecutive": 0}]}""", "alert 'a': consecutive must be between 1 and 1000000")]
    [InlineData("""{"alerts": [{"name": "a", "output": "y", "in": ["x"], "above": 1}]}""", "alert 'a': give exactly one of in, above or below")]
    [InlineData("""{"alerts": [{"name": "a", "output": "y"}]}""", "alert 'a': give exactly one of in, above or below")]
    [InlineData("""{"alerts": [{"name": "a", "output": "y", "in": []}]}""", "alert 'a': in must list between 1 and 256 values")]
    [InlineData("""{"alerts": [{"name": "a", "output": "y", "above": 1, "index": -1}]}""", "alert 'a': index must be 0 or more")]
    [InlineData("""{"alerts": [{"name": "../a", "output": "y", "above": 1}]}""", "alert '../a': name must match")]
    [InlineData("""{"alerts": [{"name": "a", "above": 1}]}""", "alert 'a': output must name a model output")]
    [InlineData("""{"alerts": [{"name": "a", "output": "y", "above": 1}, {"name": "a", "output": "y", "below": 0}]}""", "alert 'a' is named twice")]
    public void Parse_BadSection_RefusesTheManifest(string streaming, string problem)
    {
        var refused = Assert.Throws<InferenceException>(() => Parse($$"""{"streaming": {{streaming}}}"""));

        Assert.Equal(InferenceErrorKind.Unavailable, refused.Kind);
        Assert.Contains(problem, refused.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"alerts": [{"name": "a", "output": "NoSuchOutput", "in": ["x"]}]}""", "alert 'a' reads output 'NoSuchOutput', which the model does not have (it has: Score.output, PredictedLabel.output)")]
    [InlineData("""{"alerts": [{"name": "a", "output": "Score.output", "index": 3, "above": 0.5}]}""", "alert 'a' reads element 3 of output 'Score.output', which has 3 per record")]
    [InlineData("""{"window": {"size": 3}}""", "window.size 3 does not fit input Features FP32[-1,4]")]
    [InlineData("""{"window": {"size": 2, "input": "Other"}}""", "window.input 'Other' is not the model's input (it is 'Features')")]
    public async Task Processor_SectionThatDoesNotFitTheModel_LeavesTheBatchUncommittedWithTheReason(string streaming, string problem)
    {
        var name = "iris-bad-" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(streaming)).AsSpan(0, 4));
        models.CopyWithStreaming(StreamModels.Iris, name, streaming);
        using var folder = new TempDropFolder();
        var processor = new StreamProcessor(models.Host, folder.Store, new RecordingAlertSink(), NullLogger<StreamProcessor>.Instance);

        var outcome = await processor.ProcessAsync(new StreamBatch(name, null, "s", Records.Sequence("k", 1, IrisExpected.Json(0))), CancellationToken.None);

        Assert.Equal((0, 0), (outcome.FirstUncommitted, outcome.Committed));
        Assert.Contains(problem, outcome.Error, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(folder.Root));
    }

    private static ModelManifest Parse(string json) => ModelManifest.Parse(Encoding.UTF8.GetBytes(json), "model.json");
}

using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Serverless.Inference.Optimization;
using Serverless.Inference.Optimization.Reports;
using Serverless.Inference.Optimization.Variants;
using Serverless.Inference.Repository;
using Serverless.Inference.Tests.Support;

namespace Serverless.Inference.Tests.Optimization;

/// <summary>
/// What <c>infer optimize</c> does around a rewrite: the version it writes, the record and alias in model.json, the
/// report's figures (on a rewrite whose effect is known: <see cref="SwapColumns"/>), the gates, and every refusal.
/// </summary>
public sealed class VariantMakerTests : IDisposable
{
    // Comments, an odd layout and a trailing comma: all must survive the record being added.
    private const string Manifest = """
        {
          // the swap test model
          "max_batch_size": 8,   "default_version": "stable",
          "aliases": { "stable": "1" },
        }
        """;

    private static readonly DateTimeOffset Now = new(2026, 12, 1, 23, 0, 0, TimeSpan.Zero);

    private readonly TempModelRepository _repository = new();
    private readonly string _folder = Directory.CreateTempSubdirectory("optimize-tests-").FullName;

    public VariantMakerTests()
    {
        _repository.Add("swap", SwapColumns.SourceModel(), "1", Manifest).Add("swap", SwapColumns.SourceModel(), "3");
        File.WriteAllText(Path.Combine(ModelFolder, "1", "labels.txt"), "a\nb\n");
        // Not a version: no model.onnx; its number still counts, so the variant never takes a name in use.
        Directory.CreateDirectory(Path.Combine(ModelFolder, "5"));
        Directory.CreateDirectory(Path.Combine(ModelFolder, "canary"));
    }

    private string ModelFolder => Path.Combine(_repository.Root, "swap");

    public void Dispose()
    {
        _repository.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task MakeAsync_Passing_WritesTheNextVersionWithItsFilesReportRecordAndAlias()
    {
        var samples = Samples("[1,0,0,0]", "[3,4,0,0]", "[2,2,0,0]");
        var before = File.ReadAllBytes(Path.Combine(ModelFolder, "model.json"));

        var outcome = await Maker().MakeAsync(Request(samples) with { PublishAlias = "fast", MinCosine = 0.5 }, CancellationToken.None);

        Assert.True(outcome.Published);
        Assert.Equal("6", outcome.Report.Version);
        Assert.Equal("1", outcome.Report.SourceVersion);
        var version = Path.Combine(ModelFolder, "6");
        Assert.Equal(["labels.txt", "model.onnx", "optimization-report.json"], Directory.GetFiles(version).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal("a\nb\n", File.ReadAllText(Path.Combine(version, "labels.txt")));
        Assert.Equal(Path.Combine(version, "optimization-report.json"), outcome.ReportPath);
        Assert.Equal(["1", "3", "5", "6", "canary"], Directory.GetDirectories(ModelFolder).Select(Path.GetFileName).Order(StringComparer.Ordinal));

        var after = File.ReadAllBytes(Path.Combine(ModelFolder, "model.json"));
        var manifest = ModelManifest.Parse(after, "swap/model.json");
        Assert.Equal(new Dictionary<string, string> { ["stable"] = "1", ["fast"] = "6" }, manifest.Aliases);
        var record = Assert.Single(manifest.Variants);
        Assert.Equal("6", record.Key);
        Assert.Equal(("1", "int8-dynamic", Now), (record.Value.SourceVersion, record.Value.Method, record.Value.Created));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(SwapColumns.SourceModel())), record.Value.SourceSha256);
        Assert.Equal(new Dictionary<string, string> { ["swapped"] = "W" }, record.Value.Settings);
        Assert.Equal(Microsoft.ML.OnnxRuntime.OrtEnv.Instance().GetVersionString(), record.Value.Onnxruntime);
        AssertOnlyMembersChanged(before, after, "aliases", "variants");
        Assert.Empty(Directory.GetDirectories(ModelFolder, ".*"));
        Assert.Empty(Directory.GetFiles(ModelFolder, "*.part"));
    }

    [Fact]
    public async Task MakeAsync_KnownDifferences_ReportsTheHandComputedFigures()
    {
        // y = (x0, x1) from the source, (x1, x0) from the variant:
        // row 1: (1,0) vs (0,1): |diff| 1 and 1, cosine 0, argmax 0 vs 1
        // row 2: (3,4) vs (4,3): |diff| 1 and 1, cosine 24/25, argmax 1 vs 0
        // row 3: (2,2) vs (2,2): |diff| 0 and 0, cosine 1, argmax 0 vs 0
        var samples = Samples("[1,0,0,0]", "[3,4,0,0]", "[2,2,0,0]");

        var outcome = await Maker().MakeAsync(Request(samples), CancellationToken.None);

        var output = Assert.Single(outcome.Report.Outputs);
        Assert.Equal(("y", "FP32", 3), (output.Name, output.Datatype, output.Rows));
        Assert.Equal(1, output.MaxAbsDiff!.Value, 9);
        Assert.Equal(4.0 / 6, output.MeanAbsDiff!.Value, 9);
        Assert.Equal((0 + (24.0 / 25) + 1) / 3, output.MeanCosine!.Value, 6);
        Assert.Equal(0, output.MinCosine!.Value, 9);
        Assert.Equal(1.0 / 3, output.Top1Agreement!.Value, 9);
        Assert.Equal(new ReportInputs("samples", "samples.jsonl", 3), outcome.Report.Inputs);
        Assert.Equal(1, outcome.Report.RewrittenNodes);

        var cost = outcome.Report.Variant;
        Assert.Equal(new FileInfo(Path.Combine(ModelFolder, "6", "model.onnx")).Length, cost.FileBytes);
        Assert.Equal(SwapColumns.SourceModel().Length, outcome.Report.Source.FileBytes);
        Assert.Equal(["1", "8"], cost.LatencyMs.Keys.Order(StringComparer.Ordinal));
        Assert.Equal((2, 3), (cost.SessionCreations, cost.LatencyRuns));
        if (OperatingSystem.IsLinux())
        {
            Assert.True(cost.PeakRssBytes > 0);
        }

        using var written = JsonDocument.Parse(File.ReadAllBytes(outcome.ReportPath));
        var json = written.RootElement;
        Assert.Equal("6", json.GetProperty("version").GetString());
        Assert.Equal(0, json.GetProperty("outputs")[0].GetProperty("min_cosine").GetDouble(), 9);
        Assert.True(json.GetProperty("gates").GetProperty("passed").GetBoolean());
        Assert.Equal(["1", "8"], json.GetProperty("variant").GetProperty("latency_ms").EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task MakeAsync_NoSamplesForAFloatModel_ComparesOnGeneratedRows()
    {
        var outcome = await Maker().MakeAsync(Request(samples: null), CancellationToken.None);

        Assert.Equal(new ReportInputs("generated", null, SampleSet.GeneratedRows), outcome.Report.Inputs);
        Assert.True(outcome.Published);
    }

    [Theory]
    [InlineData(0.7, null, "y: mean cosine 0.6533 is below 0.7000")]
    [InlineData(null, 0.5, "y: top-1 agreement 0.3333 is below 0.5000")]
    public async Task MakeAsync_ThresholdMissed_PublishesNothingAndWritesTheReportBesideTheVersions(double? minCosine, double? minAgreement, string failure)
    {
        var samples = Samples("[1,0,0,0]", "[3,4,0,0]", "[2,2,0,0]");
        var before = File.ReadAllBytes(Path.Combine(ModelFolder, "model.json"));

        var outcome = await Maker().MakeAsync(Request(samples) with { PublishAlias = "fast", MinCosine = minCosine, MinAgreement = minAgreement }, CancellationToken.None);

        Assert.False(outcome.Published);
        Assert.Equal(failure, Assert.Single(outcome.Report.Gates.Failures));
        Assert.Null(outcome.Report.Alias);
        Assert.False(Directory.Exists(Path.Combine(ModelFolder, "6")));
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(ModelFolder, "model.json")));
        Assert.Equal(Path.Combine(ModelFolder, "optimization-report.int8-dynamic.rejected.20261201T230000Z.json"), outcome.ReportPath);
        using var written = JsonDocument.Parse(File.ReadAllBytes(outcome.ReportPath));
        Assert.False(written.RootElement.GetProperty("published").GetBoolean());
        Assert.Empty(Directory.GetDirectories(ModelFolder, ".*"));
    }

    [Fact]
    public async Task MakeAsync_VersionAppearsMeanwhile_IsRefusedAndThatVersionLeftAsItWas()
    {
        var maker = new VariantMaker(new FakeTimeProvider(Now), new MeasureOptions(2, 3), _ => new SwapColumns())
        {
            BeforePublish = target =>
            {
                Directory.CreateDirectory(target);
                File.WriteAllText(Path.Combine(target, "model.onnx"), "someone else's");
            },
        };
        var before = File.ReadAllBytes(Path.Combine(ModelFolder, "model.json"));

        var failure = await Assert.ThrowsAsync<OptimizationException>(() => maker.MakeAsync(Request(Samples("[1,0,0,0]")) with { PublishAlias = "fast" }, CancellationToken.None));

        Assert.Equal("version 6 appeared while the variant was made; it was left as it is and nothing was published", failure.Message);
        Assert.Equal("someone else's", File.ReadAllText(Path.Combine(ModelFolder, "6", "model.onnx")));
        Assert.Equal(["model.onnx"], Directory.GetFiles(Path.Combine(ModelFolder, "6")).Select(Path.GetFileName));
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(ModelFolder, "model.json")));
        Assert.Empty(Directory.GetDirectories(ModelFolder, ".*"));
    }

    [Fact]
    public async Task MakeAsync_ExplicitVersionAndAlias_ResolveAsTheHostsDo()
    {
        var samples = Samples("[1,0,0,0]");

        Assert.Equal("3", (await Maker().MakeAsync(Request(samples) with { Version = "3" }, CancellationToken.None)).Report.SourceVersion);
        Assert.Equal("1", (await Maker().MakeAsync(Request(samples) with { Version = "stable" }, CancellationToken.None)).Report.SourceVersion);
        Assert.Equal(["1", "3", "5", "6", "7", "canary"], Directory.GetDirectories(ModelFolder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(["6", "7"], ModelManifest.Parse(File.ReadAllBytes(Path.Combine(ModelFolder, "model.json")), "m").Variants.Keys.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("nope", null, "int8-dynamic", null, "unknown model 'nope'")]
    [InlineData("swap", "9", "int8-dynamic", null, "model 'swap' has no version '9' (versions: 1, 3)")]
    [InlineData("swap", null, "int4", null, "unknown method 'int4': use int8-dynamic, int8-static, fp16")]
    [InlineData("swap", null, "int8-dynamic", "bad alias", "--publish: invalid alias 'bad alias'")]
    [InlineData("swap", null, "int8-dynamic", "../x", "--publish: invalid alias '../x'")]
    [InlineData("swap", null, "int8-dynamic", "canary", "--publish canary: 'canary' is a version folder of 'swap'")]
    [InlineData("../swap", null, "int8-dynamic", null, "invalid model name '../swap'")]
    public async Task MakeAsync_BadRequest_IsRefusedWithAClearMessageAndNothingWritten(string model, string? version, string method, string? alias, string message)
    {
        var request = new OptimizeRequest(_repository.Root, model, version, method, SamplesFile: Samples("[1,0,0,0]"), PublishAlias: alias);

        await AssertRefusedAsync(request, message);
    }

    [Theory]
    [InlineData("", "samples.jsonl is empty")]
    [InlineData("\n  \n", "samples.jsonl is empty")]
    [InlineData("{\"x\":[1,0,0,0]}\n{\"x\":[1,0,\n", "samples.jsonl line 2:")]
    [InlineData("{\"x\":[1,0,0,0]}\n\n{\"x\":[1,0,0]}\n", "samples.jsonl line 3:")]
    [InlineData("{\"y\":[1,0,0,0]}\n", "samples.jsonl line 1: missing input(s): x")]
    [InlineData("\"text\"\n", "samples.jsonl line 1: a line must be a JSON object or array")]
    [InlineData("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,0,0,0]}]}\n", "samples.jsonl line 1: an inference request")]
    public async Task MakeAsync_BadSamples_AreRefusedNamingTheLine(string content, string message)
    {
        var samples = Path.Combine(_folder, "samples.jsonl");
        File.WriteAllText(samples, content);

        await AssertRefusedAsync(Request(samples), message);
    }

    [Fact]
    public async Task MakeAsync_CalibrationThatDoesNotFitTheModel_IsRefusedNamingTheLine()
    {
        var calibration = Path.Combine(_folder, "calibration.jsonl");
        File.WriteAllText(calibration, "{\"x\":[1,2,3,4]}\n{\"x\":[1,2,3,4,5,6]}\n");

        await AssertRefusedAsync(Request(samples: null) with { CalibrationFile = calibration }, "calibration.jsonl line 2:");
    }

    [Fact]
    public async Task MakeAsync_MissingSamplesFile_IsRefused()
    {
        await AssertRefusedAsync(Request(Path.Combine(_folder, "absent.jsonl")), "the samples file");
    }

    [Fact]
    public async Task MakeAsync_NoSamplesForAModelOfIntegers_AsksForSamples()
    {
        _repository.Add("ids", TestModels.OnnxTestModels.Doubler(TestModels.OnnxElementType.Int64));

        await AssertRefusedAsync(new OptimizeRequest(_repository.Root, "ids", null, "int8-dynamic"), "cannot be made up: pass --samples FILE");
    }

    [Theory]
    [InlineData(1.5, null, "--min-cosine must be between -1 and 1")]
    [InlineData(null, -0.1, "--min-agreement must be between 0 and 1")]
    [InlineData(double.NaN, null, "--min-cosine must be between -1 and 1")]
    public async Task MakeAsync_ThresholdOutOfRange_IsRefused(double? minCosine, double? minAgreement, string message)
    {
        await AssertRefusedAsync(Request(Samples("[1,0,0,0]")) with { MinCosine = minCosine, MinAgreement = minAgreement }, message);
    }

    [Fact]
    public async Task MakeAsync_RewriteRefusesTheModel_PassesItsMessageOnAndWritesNothing()
    {
        var maker = new VariantMaker(new FakeTimeProvider(Now), new MeasureOptions(1, 1), _ => new Refusing());

        var failure = await Assert.ThrowsAsync<OptimizationException>(() => maker.MakeAsync(Request(Samples("[1,0,0,0]")), CancellationToken.None));

        Assert.Equal("nothing to quantize here", failure.Message);
        AssertNothingWritten();
    }

    private async Task AssertRefusedAsync(OptimizeRequest request, string message)
    {
        var before = File.ReadAllBytes(Path.Combine(ModelFolder, "model.json"));

        var failure = await Assert.ThrowsAsync<OptimizationException>(() => Maker().MakeAsync(request, CancellationToken.None));

        Assert.Contains(message, failure.Message, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(ModelFolder, "model.json")));
        AssertNothingWritten();
    }

    private void AssertNothingWritten()
    {
        Assert.Equal(["1", "3", "5", "canary"], Directory.GetDirectories(ModelFolder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(["model.json"], Directory.GetFiles(ModelFolder).Select(Path.GetFileName));
    }

    /// <summary>The bytes outside the named members' values (and an appended member) are the same as before.</summary>
    private static void AssertOnlyMembersChanged(byte[] before, byte[] after, params string[] members)
    {
        var original = Encoding.UTF8.GetString(before);
        var edited = Encoding.UTF8.GetString(after);
        Assert.StartsWith(original[..original.IndexOf("{ \"stable\"", StringComparison.Ordinal)], edited, StringComparison.Ordinal);
        Assert.EndsWith(",\n}", edited, StringComparison.Ordinal);
        Assert.Contains("// the swap test model\n  \"max_batch_size\": 8,   \"default_version\": \"stable\",", edited, StringComparison.Ordinal);
        foreach (var member in members)
        {
            Assert.Contains($"\"{member}\"", edited, StringComparison.Ordinal);
        }
    }

    private static VariantMaker Maker() => new(new FakeTimeProvider(Now), new MeasureOptions(2, 3), _ => new SwapColumns());

    private OptimizeRequest Request(string? samples) => new(_repository.Root, "swap", null, "int8-dynamic", SamplesFile: samples);

    private string Samples(params string[] rows)
    {
        var path = Path.Combine(_folder, "samples.jsonl");
        File.WriteAllLines(path, rows.Select(row => $"{{\"x\":{row}}}"));
        return path;
    }

    private sealed class Refusing : IGraphRewrite
    {
        public OptimizationMethod Method => OptimizationMethod.Int8Dynamic;

        public RewriteResult Rewrite(RewriteRequest request, CancellationToken cancellationToken) => throw new OptimizationException("nothing to quantize here");
    }
}

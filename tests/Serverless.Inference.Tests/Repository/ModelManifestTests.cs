using System.Text;
using Serverless.Inference.Repository;

namespace Serverless.Inference.Tests.Repository;

public sealed class ModelManifestTests
{
    private const string Source = "m/model.json";

    [Fact]
    public void Parse_EveryField_ReadsSnakeCaseNames()
    {
        var manifest = Parse("""
            {
              // comments and trailing commas are allowed
              "platform": "onnxruntime_onnx",
              "description": "test model",
              "default_version": "stable",
              "aliases": { "stable": "2", "canary": "3" },
              "max_batch_size": 64,
              "intra_op_threads": 2,
              "warmup": true,
              "optimized_graph_cache": true,
              "inputs": [ { "name": "x", "shape": [-1, 4] } ],
              "outputs": [ { "name": "y" }, { "name": "z", "shape": [-1, 1] } ],
            }
            """);

        Assert.Equal("test model", manifest.Description);
        Assert.Equal("stable", manifest.DefaultVersion);
        Assert.Equal(new Dictionary<string, string> { ["stable"] = "2", ["canary"] = "3" }, manifest.Aliases);
        Assert.Equal(64, manifest.MaxBatchSize);
        Assert.Equal(2, manifest.IntraOpThreads);
        Assert.True(manifest.Warmup);
        Assert.True(manifest.OptimizedGraphCache);
        var input = Assert.Single(manifest.Inputs);
        Assert.Equal("x", input.Name);
        Assert.Equal([-1L, 4L], input.Shape);
        Assert.Equal(["y", "z"], manifest.Outputs.Select(o => o.Name));
        Assert.Null(manifest.Outputs[0].Shape);
    }

    [Fact]
    public void Parse_EmptyObject_TakesTheDefaults()
    {
        var manifest = Parse("{}");

        Assert.Equal("onnxruntime_onnx", manifest.Platform);
        Assert.Null(manifest.DefaultVersion);
        Assert.Empty(manifest.Aliases);
        Assert.Equal(0, manifest.MaxBatchSize);
        Assert.Equal(0, manifest.IntraOpThreads);
        Assert.False(manifest.Warmup);
        Assert.False(manifest.OptimizedGraphCache);
        Assert.Empty(manifest.Inputs);
        Assert.Empty(manifest.Outputs);
    }

    [Theory]
    [InlineData("""{ "colour": "red" }""", "colour")]
    [InlineData("""{ "maxBatchSize": 4 }""", "maxBatchSize")]
    [InlineData("""{ "inputs": [ { "name": "x", "dims": [4] } ] }""", "dims")]
    public void Parse_UnknownField_IsRefusedNamingTheFileAndTheField(string json, string field)
    {
        var failure = ParseFails(json);

        Assert.Contains(Source, failure.Message, StringComparison.Ordinal);
        Assert.Contains(field, failure.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{ "max_batch_size": -1 }""", "max_batch_size")]
    [InlineData("""{ "max_batch_size": 1048577 }""", "max_batch_size")]
    [InlineData("""{ "intra_op_threads": -1 }""", "intra_op_threads")]
    [InlineData("""{ "intra_op_threads": 257 }""", "intra_op_threads")]
    [InlineData("""{ "platform": "tensorflow_savedmodel" }""", "platform")]
    [InlineData("""{ "default_version": "../1" }""", "default_version")]
    [InlineData("""{ "aliases": { "stable": "../../etc" } }""", "stable")]
    [InlineData("""{ "aliases": { "bad alias": "1" } }""", "bad alias")]
    [InlineData("""{ "inputs": [ { "shape": [4] } ] }""", "name")]
    [InlineData("""{ "outputs": [ { "name": "" } ] }""", "name")]
    [InlineData("""{ "inputs": [ { "name": "x", "max_shape": [0, 4] } ] }""", "max_shape of 'x' must hold positive sizes or -1")]
    [InlineData("""{ "inputs": [ { "name": "x", "max_shape": [-2] } ] }""", "max_shape of 'x' must hold positive sizes or -1")]
    [InlineData("""{ "outputs": [ { "name": "y", "max_shape": [4] } ] }""", "max_shape applies to inputs only")]
    [InlineData("""{ "memory_per_row_mb": -1 }""", "memory_per_row_mb")]
    public void Parse_InvalidValue_IsRefusedNamingTheFileAndTheProblem(string json, string problem)
    {
        var failure = ParseFails(json);

        Assert.Contains(Source, failure.Message, StringComparison.Ordinal);
        Assert.Contains(problem, failure.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{ "max_batch_size": 0, "intra_op_threads": 0 }""", 0, 0)]
    [InlineData("""{ "max_batch_size": 1048576, "intra_op_threads": 256 }""", 1048576, 256)]
    public void Parse_LimitsAtTheBoundary_AreAcceptedAndKept(string json, int maxBatchSize, int intraOpThreads)
    {
        var manifest = Parse(json);

        Assert.Equal((maxBatchSize, intraOpThreads), (manifest.MaxBatchSize, manifest.IntraOpThreads));
    }

    [Fact]
    public void Parse_Variants_ReadsEachVersionsProvenance()
    {
        var manifest = Parse("""
            {
              "variants": {
                "2": {
                  "source_version": "1",
                  "source_sha256": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                  "method": "int8-dynamic",
                  "settings": { "weight_type": "int8", "per_channel": "true" },
                  "created": "2026-12-01T22:00:00+00:00",
                  "onnxruntime": "1.31.1"
                }
              }
            }
            """);

        var variant = Assert.Single(manifest.Variants);
        Assert.Equal("2", variant.Key);
        Assert.Equal(("1", "int8-dynamic", "1.31.1"), (variant.Value.SourceVersion, variant.Value.Method, variant.Value.Onnxruntime));
        Assert.Equal("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", variant.Value.SourceSha256);
        Assert.Equal(new Dictionary<string, string> { ["weight_type"] = "int8", ["per_channel"] = "true" }, variant.Value.Settings);
        Assert.Equal(new DateTimeOffset(2026, 12, 1, 22, 0, 0, TimeSpan.Zero), variant.Value.Created);
    }

    [Theory]
    [InlineData("""{ "variants": { "../2": { "source_version": "1", "source_sha256": "HASH", "method": "fp16" } } }""", "variants: version '../2'")]
    [InlineData("""{ "variants": { "2": { "source_version": "a/b", "source_sha256": "HASH", "method": "fp16" } } }""", "variants.2.source_version")]
    [InlineData("""{ "variants": { "2": { "source_sha256": "HASH", "method": "fp16" } } }""", "variants.2.source_version")]
    [InlineData("""{ "variants": { "2": { "source_version": "1", "source_sha256": "ABC", "method": "fp16" } } }""", "variants.2.source_sha256")]
    [InlineData("""{ "variants": { "2": { "source_version": "1", "source_sha256": "HASH" } } }""", "variants.2.method")]
    [InlineData("""{ "variants": { "2": null } }""", "variants.2 must be an object")]
    [InlineData("""{ "variants": { "2": { "source_version": "1", "source_sha256": "HASH", "method": "fp16", "by": "me" } } }""", "by")]
    public void Parse_InvalidVariant_IsRefusedNamingTheVersionAndTheProblem(string json, string problem)
    {
        var failure = ParseFails(json.Replace("HASH", new string('a', 64), StringComparison.Ordinal));

        Assert.Contains(Source, failure.Message, StringComparison.Ordinal);
        Assert.Contains(problem, failure.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("null")]
    [InlineData("")]
    [InlineData("{ \"warmup\": ")]
    [InlineData("[]")]
    [InlineData("""{ "max_batch_size": "many" }""")]
    public void Parse_NotAManifest_IsRefusedNamingTheFile(string json)
    {
        var failure = ParseFails(json);

        Assert.Contains(Source, failure.Message, StringComparison.Ordinal);
    }

    private static ModelManifest Parse(string json) => ModelManifest.Parse(Encoding.UTF8.GetBytes(json), Source);

    private static InferenceException ParseFails(string json)
    {
        var failure = Assert.Throws<InferenceException>(() => Parse(json));
        Assert.Equal(InferenceErrorKind.Unavailable, failure.Kind);
        return failure;
    }
}

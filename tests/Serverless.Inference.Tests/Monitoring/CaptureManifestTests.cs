using System.Text;
using Serverless.Inference.Repository;

namespace Serverless.Inference.Tests.Monitoring;

public sealed class CaptureManifestTests
{
    [Fact]
    public void Parse_FullCaptureSection_ReadsEveryField()
    {
        var manifest = Parse("""{"monitoring":{"capture":{"sample_rate":0.25,"inputs":false,"outputs":true,"redact":["text"],"max_record_bytes":4096}}}""");

        var capture = manifest.Monitoring!.Capture!;
        Assert.Equal(0.25, capture.SampleRate);
        Assert.False(capture.Inputs);
        Assert.True(capture.Outputs);
        Assert.Equal(["text"], capture.Redact);
        Assert.Equal(4096, capture.MaxRecordBytes);
    }

    [Fact]
    public void Parse_CaptureWithDefaults_CapturesInputsAndOutputsWithTheDefaultLimit()
    {
        var capture = Parse("""{"monitoring":{"capture":{"sample_rate":1}}}""").Monitoring!.Capture!;

        Assert.True(capture.Inputs && capture.Outputs);
        Assert.Equal(CaptureManifest.DefaultMaxRecordBytes, capture.MaxRecordBytes);
    }

    [Theory]
    [InlineData("""{"sample_rate":1.5}""", "monitoring.capture.sample_rate must be between 0 and 1")]
    [InlineData("""{"sample_rate":-0.1}""", "monitoring.capture.sample_rate must be between 0 and 1")]
    [InlineData("""{"sample_rate":1,"max_record_bytes":100}""", "monitoring.capture.max_record_bytes must be between 1024 and 1048576")]
    [InlineData("""{"sample_rate":1,"max_record_bytes":2000000000}""", "monitoring.capture.max_record_bytes must be between 1024 and 1048576")]
    [InlineData("""{"sample_rate":1,"redact":[""]}""", "redact names inputs")]
    public void Parse_BadCaptureValue_RefusedWithTheReason(string capture, string reason)
    {
        var error = Assert.Throws<InferenceException>(() => Parse("""{"monitoring":{"capture":""" + capture + "}}"));

        Assert.Equal(InferenceErrorKind.Unavailable, error.Kind);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"monitoring":{"capture":{"sample_rate":1,"sample_ratio":1}}}""", "sample_ratio")]
    [InlineData("""{"monitoring":{"capture":{"sample_rate":1},"alerts":true}}""", "alerts")]
    public void Parse_UnknownCaptureField_RefusedNamingIt(string json, string field)
    {
        var error = Assert.Throws<InferenceException>(() => Parse(json));

        Assert.Contains("model.json is not a valid model manifest", error.Message, StringComparison.Ordinal);
        Assert.Contains(field, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Acquire_RedactNamingNoInput_LoadFailsNamingIt()
    {
        await using var host = new CaptureTestHost(new Dictionary<string, string> { ["iris"] = """{"sample_rate":1,"redact":["Features","text"]}""" });

        var error = await Assert.ThrowsAsync<InferenceException>(() => host.Host.AcquireAsync("iris", null, CancellationToken.None));

        Assert.Equal(InferenceErrorKind.Unavailable, error.Kind);
        Assert.Contains("monitoring.capture.redact names 'text', not an input of the model", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Acquire_RedactNamingTheBareModelsInput_Loads()
    {
        await using var host = new CaptureTestHost(new Dictionary<string, string> { ["minilm"] = """{"sample_rate":1,"redact":["text","input_ids"]}""" });

        using var lease = await host.Host.AcquireAsync("minilm", null, CancellationToken.None);

        Assert.NotNull(lease.Capture);
    }

    private static ModelManifest Parse(string json) => ModelManifest.Parse(Encoding.UTF8.GetBytes(json), "model.json");
}

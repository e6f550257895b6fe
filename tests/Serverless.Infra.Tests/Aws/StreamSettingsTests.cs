using Serverless.Infra.Aws;
using Serverless.Infra.Tests.Support;

namespace Serverless.Infra.Tests.Aws;

/// <summary>The streaming settings are checked, like the others, before any construct exists; only when a stream model is set.</summary>
public sealed class StreamSettingsTests : IDisposable
{
    private readonly TempFolder _publish = new("publish");

    public StreamSettingsTests() => CdkSynthFixture.CreatePlaceholderBootstrap(_publish.Path);

    public void Dispose() => _publish.Dispose();

    private InferenceStackSettings Streaming => new() { BootstrapPath = _publish.Path, StreamModel = "sensor-model" };

    [Fact]
    public void Defaults_NoStreamModel_NoStreamingAndItsSettingsUnchecked()
    {
        var settings = new InferenceStackSettings { BootstrapPath = _publish.Path, StreamBatchSize = 0 };

        Assert.False(settings.UsesStream);
        Assert.Null(Record.Exception(settings.Validate));
    }

    [Fact]
    public void Defaults_StreamModel_OnDemandShortTimeoutBatchesOf100()
    {
        var settings = Streaming;

        Assert.Null(Record.Exception(settings.Validate));
        Assert.True(settings.UsesStream);
        Assert.Equal(0, settings.StreamShardCount);
        Assert.Equal((1024, 60, 10), (settings.StreamMemorySizeMiB, settings.StreamTimeoutSeconds, settings.StreamReservedConcurrency));
        Assert.Equal((100, 1, 3600, 10), (settings.StreamBatchSize, settings.StreamMaxBatchingWindowSeconds, settings.StreamMaxRecordAgeSeconds, settings.StreamRetryAttempts));
    }

    [Theory]
    [InlineData(nameof(InferenceStackSettings.StreamShardCount), -1, "streamShardCount")]
    [InlineData(nameof(InferenceStackSettings.StreamRetentionHours), 23, "streamRetentionHours")]
    [InlineData(nameof(InferenceStackSettings.StreamMemorySizeMiB), 127, "streamMemorySize")]
    [InlineData(nameof(InferenceStackSettings.StreamTimeoutSeconds), 901, "streamTimeoutSeconds")]
    [InlineData(nameof(InferenceStackSettings.StreamReservedConcurrency), 0, "streamReservedConcurrency")]
    [InlineData(nameof(InferenceStackSettings.StreamBatchSize), 0, "streamBatchSize")]
    [InlineData(nameof(InferenceStackSettings.StreamBatchSize), 10001, "streamBatchSize")]
    [InlineData(nameof(InferenceStackSettings.StreamMaxBatchingWindowSeconds), 301, "streamMaxBatchingWindowSeconds")]
    [InlineData(nameof(InferenceStackSettings.StreamMaxRecordAgeSeconds), 59, "streamMaxRecordAgeSeconds")]
    [InlineData(nameof(InferenceStackSettings.StreamRetryAttempts), -1, "streamRetryAttempts")]
    public void Validate_NumberOutOfRange_ThrowsNamingTheSetting(string setting, int value, string contextKey)
    {
        var settings = setting switch
        {
            nameof(InferenceStackSettings.StreamShardCount) => Streaming with { StreamShardCount = value },
            nameof(InferenceStackSettings.StreamRetentionHours) => Streaming with { StreamRetentionHours = value },
            nameof(InferenceStackSettings.StreamMemorySizeMiB) => Streaming with { StreamMemorySizeMiB = value },
            nameof(InferenceStackSettings.StreamTimeoutSeconds) => Streaming with { StreamTimeoutSeconds = value },
            nameof(InferenceStackSettings.StreamReservedConcurrency) => Streaming with { StreamReservedConcurrency = value },
            nameof(InferenceStackSettings.StreamBatchSize) => Streaming with { StreamBatchSize = value },
            nameof(InferenceStackSettings.StreamMaxBatchingWindowSeconds) => Streaming with { StreamMaxBatchingWindowSeconds = value },
            nameof(InferenceStackSettings.StreamMaxRecordAgeSeconds) => Streaming with { StreamMaxRecordAgeSeconds = value },
            nameof(InferenceStackSettings.StreamRetryAttempts) => Streaming with { StreamRetryAttempts = value },
            _ => throw new ArgumentException(setting),
        };

        var error = Assert.Throws<ArgumentOutOfRangeException>(settings.Validate);

        Assert.Equal(setting, error.ParamName);
        Assert.StartsWith(contextKey, error.Message, StringComparison.Ordinal);
    }

    /// <summary>One invocation per shard at a time: fewer environments than shards leaves shards throttled while their records age.</summary>
    [Fact]
    public void Validate_MoreShardsThanReservedConcurrency_ThrowsNamingBoth()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>((Streaming with { StreamShardCount = 4, StreamReservedConcurrency = 3 }).Validate);

        Assert.Equal(nameof(InferenceStackSettings.StreamReservedConcurrency), error.ParamName);
        Assert.StartsWith("streamReservedConcurrency (3) must be at least streamShardCount (4)", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("../models")]
    [InlineData("a b")]
    public void Validate_StreamModelNotAName_Throws(string model)
    {
        var error = Assert.Throws<ArgumentException>((Streaming with { StreamModel = model }).Validate);

        Assert.Equal(nameof(InferenceStackSettings.StreamModel), error.ParamName);
    }

    [Fact]
    public void FromContext_StreamValues_ParsedOverDefaults()
    {
        var context = new Dictionary<string, string>
        {
            ["bootstrapPath"] = _publish.Path,
            ["streamModel"] = "iris",
            ["streamModelVersion"] = "2",
            ["streamShardCount"] = "4",
            ["streamReservedConcurrency"] = "4",
            ["streamBatchSize"] = "500",
            ["streamMaxRecordAgeSeconds"] = "600",
        };

        var settings = InferenceStackSettings.FromContext(context.GetValueOrDefault);

        Assert.Equal(("iris", "2"), (settings.StreamModel, settings.StreamModelVersion));
        Assert.Equal((4, 4, 500, 600), (settings.StreamShardCount, settings.StreamReservedConcurrency, settings.StreamBatchSize, settings.StreamMaxRecordAgeSeconds));
        Assert.Equal(10, settings.StreamRetryAttempts);
        Assert.Null(Record.Exception(settings.Validate));
    }
}

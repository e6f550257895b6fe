using Serverless.Infra.Aws;
using Serverless.Infra.Tests.Support;

namespace Serverless.Infra.Tests.Aws;

/// <summary>Settings are checked before any construct exists: no node process needed for these.</summary>
public sealed class InferenceStackSettingsTests : IDisposable
{
    private readonly TempFolder _publish = new("publish");

    public InferenceStackSettingsTests() => CdkSynthFixture.CreatePlaceholderBootstrap(_publish.Path);

    public void Dispose() => _publish.Dispose();

    private InferenceStackSettings Valid => new() { BootstrapPath = _publish.Path };

    [Fact]
    public void Validate_Defaults_Pass()
    {
        var error = Record.Exception(Valid.Validate);

        Assert.Null(error);
    }

    [Fact]
    public void Defaults_BlastRadius_Http50Batch30OfWhichNotifications5Shards20Sweep15()
    {
        var settings = Valid;

        Assert.Equal(50, settings.ReservedConcurrency);
        Assert.Equal(30, settings.BatchReservedConcurrency);
        Assert.Equal(5, settings.SqsMaxConcurrency);
        Assert.Equal(20, settings.ShardMaxConcurrency);
        Assert.Equal(15, settings.SweepIntervalMinutes);
        Assert.Equal(15, settings.SweepAfterMinutes);
    }

    [Fact]
    public void Defaults_Functions_Http30sBatch900sWithMoreMemory()
    {
        var settings = Valid;

        Assert.Equal((2048, 30), (settings.MemorySizeMiB, settings.TimeoutSeconds));
        Assert.Equal((3008, 900), (settings.BatchMemorySizeMiB, settings.BatchTimeoutSeconds));
        Assert.Equal((1, 5), (settings.ShardBatchSize, settings.ShardMaxReceiveCount));
    }

    [Theory]
    [InlineData(nameof(InferenceStackSettings.MemorySizeMiB), 127, "memorySize")]
    [InlineData(nameof(InferenceStackSettings.MemorySizeMiB), 10241, "memorySize")]
    [InlineData(nameof(InferenceStackSettings.TimeoutSeconds), 0, "timeoutSeconds")]
    [InlineData(nameof(InferenceStackSettings.TimeoutSeconds), 31, "timeoutSeconds")]
    [InlineData(nameof(InferenceStackSettings.BatchMemorySizeMiB), 127, "batchMemorySize")]
    [InlineData(nameof(InferenceStackSettings.BatchTimeoutSeconds), 0, "batchTimeoutSeconds")]
    [InlineData(nameof(InferenceStackSettings.BatchTimeoutSeconds), 901, "batchTimeoutSeconds")]
    [InlineData(nameof(InferenceStackSettings.BatchReservedConcurrency), 3, "batchReservedConcurrency")]
    [InlineData(nameof(InferenceStackSettings.ShardMaxConcurrency), 1, "shardMaxConcurrency")]
    [InlineData(nameof(InferenceStackSettings.ShardBatchSize), 0, "shardBatchSize")]
    [InlineData(nameof(InferenceStackSettings.ShardBatchSize), 11, "shardBatchSize")]
    [InlineData(nameof(InferenceStackSettings.ShardMaxReceiveCount), 0, "shardMaxReceiveCount")]
    [InlineData(nameof(InferenceStackSettings.RowsPerShard), -1, "rowsPerShard")]
    [InlineData(nameof(InferenceStackSettings.EphemeralStorageMiB), 511, "ephemeralStorage")]
    [InlineData(nameof(InferenceStackSettings.EphemeralStorageMiB), 10241, "ephemeralStorage")]
    [InlineData(nameof(InferenceStackSettings.ProvisionedConcurrency), -1, "provisionedConcurrency")]
    [InlineData(nameof(InferenceStackSettings.BatchSize), 0, "batchSize")]
    [InlineData(nameof(InferenceStackSettings.BatchSize), 11, "batchSize")]
    [InlineData(nameof(InferenceStackSettings.MaxReceiveCount), 0, "maxReceiveCount")]
    [InlineData(nameof(InferenceStackSettings.LogRetentionDays), 2, "logRetentionDays")]
    [InlineData(nameof(InferenceStackSettings.ApiRateLimit), 0, "apiRateLimit")]
    [InlineData(nameof(InferenceStackSettings.ApiBurstLimit), 5001, "apiBurstLimit")]
    [InlineData(nameof(InferenceStackSettings.ReservedConcurrency), 0, "reservedConcurrency")]
    [InlineData(nameof(InferenceStackSettings.ReservedConcurrency), 1001, "reservedConcurrency")]
    [InlineData(nameof(InferenceStackSettings.SqsMaxConcurrency), 1, "sqsMaxConcurrency")]
    [InlineData(nameof(InferenceStackSettings.SweepIntervalMinutes), 0, "sweepIntervalMinutes")]
    [InlineData(nameof(InferenceStackSettings.SweepIntervalMinutes), 1441, "sweepIntervalMinutes")]
    [InlineData(nameof(InferenceStackSettings.SweepAfterMinutes), 0, "sweepAfterMinutes")]
    public void Validate_NumberOutOfRange_ThrowsNamingTheSetting(string setting, int value, string contextKey)
    {
        var settings = setting switch
        {
            nameof(InferenceStackSettings.MemorySizeMiB) => Valid with { MemorySizeMiB = value },
            nameof(InferenceStackSettings.TimeoutSeconds) => Valid with { TimeoutSeconds = value },
            nameof(InferenceStackSettings.BatchMemorySizeMiB) => Valid with { BatchMemorySizeMiB = value },
            nameof(InferenceStackSettings.BatchTimeoutSeconds) => Valid with { BatchTimeoutSeconds = value },
            nameof(InferenceStackSettings.BatchReservedConcurrency) => Valid with { BatchReservedConcurrency = value },
            nameof(InferenceStackSettings.ShardMaxConcurrency) => Valid with { ShardMaxConcurrency = value },
            nameof(InferenceStackSettings.ShardBatchSize) => Valid with { ShardBatchSize = value },
            nameof(InferenceStackSettings.ShardMaxReceiveCount) => Valid with { ShardMaxReceiveCount = value },
            nameof(InferenceStackSettings.RowsPerShard) => Valid with { RowsPerShard = value },
            nameof(InferenceStackSettings.EphemeralStorageMiB) => Valid with { EphemeralStorageMiB = value },
            nameof(InferenceStackSettings.ProvisionedConcurrency) => Valid with { ProvisionedConcurrency = value },
            nameof(InferenceStackSettings.BatchSize) => Valid with { BatchSize = value },
            nameof(InferenceStackSettings.MaxReceiveCount) => Valid with { MaxReceiveCount = value },
            nameof(InferenceStackSettings.LogRetentionDays) => Valid with { LogRetentionDays = value },
            nameof(InferenceStackSettings.ApiRateLimit) => Valid with { ApiRateLimit = value },
            nameof(InferenceStackSettings.ApiBurstLimit) => Valid with { ApiBurstLimit = value },
            nameof(InferenceStackSettings.ReservedConcurrency) => Valid with { ReservedConcurrency = value },
            nameof(InferenceStackSettings.SqsMaxConcurrency) => Valid with { SqsMaxConcurrency = value },
            nameof(InferenceStackSettings.SweepIntervalMinutes) => Valid with { SweepIntervalMinutes = value },
            nameof(InferenceStackSettings.SweepAfterMinutes) => Valid with { SweepAfterMinutes = value },
            _ => throw new ArgumentException(setting),
        };

        var error = Assert.Throws<ArgumentOutOfRangeException>(settings.Validate);

        Assert.Equal(setting, error.ParamName);
        Assert.Equal(value, error.ActualValue);
        Assert.StartsWith(contextKey, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_ProvisionedAboveReservedConcurrency_ThrowsNamingBoth()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>((Valid with { ReservedConcurrency = 10, ProvisionedConcurrency = 11 }).Validate);

        Assert.Equal(nameof(InferenceStackSettings.ProvisionedConcurrency), error.ParamName);
        Assert.StartsWith("provisionedConcurrency (11) must not exceed reservedConcurrency (10)", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Both queues' pollers share the batch function's reserved concurrency: above it, throttled messages would be dead-lettered unscored.</summary>
    [Theory]
    [InlineData(5, 6)]
    [InlineData(9, 2)]
    public void Validate_QueueConcurrenciesAboveBatchReserved_ThrowsNamingAllThree(int notifications, int shards)
    {
        var settings = Valid with { BatchReservedConcurrency = 10, SqsMaxConcurrency = notifications, ShardMaxConcurrency = shards };

        var error = Assert.Throws<ArgumentOutOfRangeException>(settings.Validate);

        Assert.Equal(nameof(InferenceStackSettings.ShardMaxConcurrency), error.ParamName);
        Assert.StartsWith(
            $"sqsMaxConcurrency ({notifications}) and shardMaxConcurrency ({shards}) together must not exceed batchReservedConcurrency (10)",
            error.Message,
            StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_ConcurrencyEqualToReserved_Passes()
    {
        var error = Record.Exception((Valid with { ReservedConcurrency = 10, ProvisionedConcurrency = 10, BatchReservedConcurrency = 10, SqsMaxConcurrency = 4, ShardMaxConcurrency = 6 }).Validate);

        Assert.Null(error);
    }

    /// <summary>The HTTP function's reserved concurrency is its own: the queues may use more than it.</summary>
    [Fact]
    public void Validate_QueueConcurrenciesAboveHttpReserved_Passes()
    {
        var error = Record.Exception((Valid with { ReservedConcurrency = 2, BatchReservedConcurrency = 100, SqsMaxConcurrency = 10, ShardMaxConcurrency = 90 }).Validate);

        Assert.Null(error);
    }

    [Fact]
    public void Validate_UnknownArchitecture_Throws()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>((Valid with { Architecture = "aarch64" }).Validate);

        Assert.Contains("'arm64' or 'x86_64'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_FolderWithoutBootstrap_ThrowsPointingAtPublish()
    {
        using var empty = new TempFolder("empty");

        var error = Assert.Throws<ArgumentException>((Valid with { BootstrapPath = empty.Path }).Validate);

        Assert.Contains("publish functions-aws first", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://issuer.example.com", "api://x", "https URL")]
    [InlineData("not a url", "api://x", "https URL")]
    [InlineData("https://issuer.example.com", "", "jwtAudience")]
    public void Validate_BadJwtSettings_Throw(string issuer, string audience, string expected)
    {
        var settings = Valid with { JwtIssuer = issuer, JwtAudience = audience.Length == 0 ? [] : [audience] };

        var error = Assert.Throws<ArgumentException>(settings.Validate);

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromContext_Values_ParsedOverDefaults()
    {
        var context = new Dictionary<string, string>
        {
            ["bootstrapPath"] = _publish.Path,
            ["memorySize"] = "1024",
            ["provisionedConcurrency"] = "3",
            ["jwtIssuer"] = "https://issuer.example.com",
            ["jwtAudience"] = "a, b",
            ["reservedConcurrency"] = "80",
            ["sqsMaxConcurrency"] = "4",
            ["batchMemorySize"] = "4096",
            ["batchTimeoutSeconds"] = "600",
            ["batchReservedConcurrency"] = "40",
            ["shardMaxConcurrency"] = "30",
            ["shardBatchSize"] = "2",
            ["shardMaxReceiveCount"] = "6",
            ["rowsPerShard"] = "20000",
            ["sweepIntervalMinutes"] = "30",
            ["sweepAfterMinutes"] = "45",
        };

        var settings = InferenceStackSettings.FromContext(context.GetValueOrDefault);

        Assert.Equal(1024, settings.MemorySizeMiB);
        Assert.Equal(3, settings.ProvisionedConcurrency);
        Assert.Equal(30, settings.TimeoutSeconds);
        Assert.Equal(["a", "b"], settings.JwtAudience);
        Assert.Equal(80, settings.ReservedConcurrency);
        Assert.Equal(4, settings.SqsMaxConcurrency);
        Assert.Equal((4096, 600, 40), (settings.BatchMemorySizeMiB, settings.BatchTimeoutSeconds, settings.BatchReservedConcurrency));
        Assert.Equal((30, 2, 6), (settings.ShardMaxConcurrency, settings.ShardBatchSize, settings.ShardMaxReceiveCount));
        Assert.Equal(20000, settings.RowsPerShard);
        Assert.Equal(30, settings.SweepIntervalMinutes);
        Assert.Equal(45, settings.SweepAfterMinutes);
        Assert.True(settings.UsesJwt);
    }

    [Fact]
    public void FromContext_NotANumber_ThrowsNamingTheKey()
    {
        var context = new Dictionary<string, string> { ["bootstrapPath"] = _publish.Path, ["timeoutSeconds"] = "1m" };

        var error = Assert.Throws<ArgumentException>(() => InferenceStackSettings.FromContext(context.GetValueOrDefault));

        Assert.Equal("timeoutSeconds", error.ParamName);
    }

    [Fact]
    public void FromContext_PackagedModels_ServedFromTheZipsModelsFolder()
    {
        var packaged = InferenceStackSettings.FromContext(new Dictionary<string, string> { ["bootstrapPath"] = _publish.Path, ["packagedModels"] = "true" }.GetValueOrDefault);
        var plain = InferenceStackSettings.FromContext(new Dictionary<string, string> { ["bootstrapPath"] = _publish.Path }.GetValueOrDefault);

        Assert.Equal("/var/task/models", packaged.PackagedModelDirectory);
        Assert.Null(plain.PackagedModelDirectory);
        Assert.Null(Record.Exception(packaged.Validate));
    }

    [Fact]
    public void FromContext_PackagedModelsNotABoolean_ThrowsNamingTheKey()
    {
        var context = new Dictionary<string, string> { ["bootstrapPath"] = _publish.Path, ["packagedModels"] = "yes" };

        var error = Assert.Throws<ArgumentException>(() => InferenceStackSettings.FromContext(context.GetValueOrDefault));

        Assert.Equal("packagedModels", error.ParamName);
    }

    [Fact]
    public void Validate_ModelsLayerWithoutModelsFolder_ThrowsNamingTheSetting()
    {
        using var empty = new TempFolder("layer");

        var error = Assert.Throws<ArgumentException>((Valid with { ModelsLayerPath = empty.Path }).Validate);

        Assert.Equal(nameof(InferenceStackSettings.ModelsLayerPath), error.ParamName);
        Assert.Contains("neither a .zip nor a folder with models/ at its root", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_ModelsLayerAndPackagedModels_ExcludeEachOther()
    {
        using var layer = new TempFolder("layer");
        CdkSynthFixture.CreatePlaceholderModelsLayer(layer.Path);

        var error = Assert.Throws<ArgumentException>((Valid with { ModelsLayerPath = layer.Path, PackagedModels = true }).Validate);

        Assert.Contains("exclude each other", error.Message, StringComparison.Ordinal);
        Assert.Equal("/opt/models", (Valid with { ModelsLayerPath = layer.Path }).PackagedModelDirectory);
    }
}

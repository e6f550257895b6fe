using Microsoft.Extensions.Configuration;
using Serverless.Functions.Azure.Hosting;
using Serverless.Inference.Batch.Sharding;

namespace Serverless.Functions.Azure.Tests.Hosting;

/// <summary>The deployment's sharding settings, in their environment form (<c>Inference__Name</c>).</summary>
public sealed class InferenceSettingsTests
{
    [Fact]
    public void Sharding_NotSet_TheCoresDefaults()
    {
        Assert.Equal(new ShardingOptions(), From([]).Sharding);
    }

    [Fact]
    public void Sharding_Set_MinBytesRowsAndBytesPerShard()
    {
        var sharding = From(new()
        {
            [AzureContract.ShardMinBytesSetting] = "1048576",
            [AzureContract.RowsPerShardSetting] = "20000",
            [AzureContract.BytesPerShardSetting] = "33554432",
        }).Sharding;

        Assert.Equal((1L << 20, 20_000, 32L << 20), (sharding.MinBytes, sharding.RowsPerShard, sharding.BytesPerShard));
    }

    [Theory]
    [InlineData("Inference__RowsPerShard", "0")]
    [InlineData("Inference__BytesPerShard", "lots")]
    [InlineData("Inference__ShardMinBytes", "-1")]
    public void Sharding_OutOfRange_NamesTheSetting(string setting, string value)
    {
        var error = Assert.Throws<InvalidOperationException>(() => From(new() { [setting] = value }));

        Assert.Contains(setting, error.Message, StringComparison.Ordinal);
    }

    // Environment variables reach configuration with "__" turned into ":".
    private static InferenceSettings From(Dictionary<string, string?> environment) =>
        InferenceSettings.From(new ConfigurationBuilder()
            .AddInMemoryCollection(environment.ToDictionary(p => p.Key.Replace("__", ":", StringComparison.Ordinal), p => p.Value))
            .Build());
}

using System.Globalization;
using Microsoft.Extensions.Configuration;
using Serverless.Inference.Batch.Sharding;

namespace Serverless.Functions.Azure.Hosting;

/// <summary>The app settings this app reads besides the storage connection (environment form: <c>Inference__Name</c>).</summary>
/// <param name="SweepAfter">How long a file sits under incoming/ before the timer sweep takes it (<see cref="AzureContract.SweepAfterMinutesSetting"/>).</param>
/// <param name="Sharding">When a file is fanned out over the shard queue and how big its shards are; a model's manifest (<c>batch</c>) overrides the shard sizes.</param>
public sealed record InferenceSettings(TimeSpan RefreshInterval, int MaxAttempts, IReadOnlyList<string> WarmupModels, string? CacheDirectory, TimeSpan SweepAfter, ShardingOptions Sharding)
{
    public const string Section = "Inference";

    /// <summary>
    /// host.json's <c>functionTimeout</c>. The invocation's token fires alike for this timeout and for a host shutting
    /// down, so the batch runner is given this deadline instead: it stops itself a little before the host would and
    /// counts the run as an attempt, while a cancelled token (a shutdown) never counts against the file.
    /// </summary>
    public static readonly TimeSpan FunctionTimeout = TimeSpan.FromMinutes(10);

    public static InferenceSettings From(IConfiguration configuration)
    {
        var section = configuration.GetSection(Section);
        var warmupKey = AzureContract.WarmupModelsSetting.Replace("__", ":", StringComparison.Ordinal);
        return new InferenceSettings(
            TimeSpan.FromSeconds(Number(section, "RefreshIntervalSeconds", 30, min: 0)),
            (int)Number(section, "MaxAttempts", 3, min: 1),
            (configuration[warmupKey] ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            string.IsNullOrWhiteSpace(section["CacheDirectory"]) ? null : section["CacheDirectory"],
            TimeSpan.FromMinutes(Number(section, AzureContract.SweepAfterMinutesSetting[(Section.Length + 2)..], 15, min: 0)),
            ShardingFrom(section));
    }

    private static ShardingOptions ShardingFrom(IConfigurationSection section)
    {
        var defaults = new ShardingOptions();
        return defaults with
        {
            MinBytes = (long)Number(section, Setting(AzureContract.ShardMinBytesSetting), defaults.MinBytes, min: 0),
            RowsPerShard = (int)Number(section, Setting(AzureContract.RowsPerShardSetting), defaults.RowsPerShard, min: 1),
            BytesPerShard = (long)Number(section, Setting(AzureContract.BytesPerShardSetting), defaults.BytesPerShard, min: 1),
        };
    }

    /// <summary>"Inference__RowsPerShard" → "RowsPerShard", the key inside the section.</summary>
    private static string Setting(string name) => name[(Section.Length + 2)..];

    private static double Number(IConfigurationSection section, string key, double fallback, double min)
    {
        var text = section[key];
        if (string.IsNullOrWhiteSpace(text))
        {
            return fallback;
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value >= min
            ? value
            : throw new InvalidOperationException($"The setting {Section}__{key} must be a number of at least {min}, not '{text}'.");
    }
}

using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Serverless.Functions.Azure.Hosting;

/// <summary>The app settings this app reads besides the storage connection (environment form: <c>Inference__Name</c>).</summary>
/// <param name="SweepAfter">How long a file sits under incoming/ before the timer sweep takes it (<see cref="AzureContract.SweepAfterMinutesSetting"/>).</param>
public sealed record InferenceSettings(TimeSpan RefreshInterval, int MaxAttempts, IReadOnlyList<string> WarmupModels, string? CacheDirectory, TimeSpan SweepAfter)
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
            TimeSpan.FromMinutes(Number(section, AzureContract.SweepAfterMinutesSetting[(Section.Length + 2)..], 15, min: 0)));
    }

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

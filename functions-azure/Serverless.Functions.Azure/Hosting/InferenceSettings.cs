using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Serverless.Functions.Azure.Hosting;

/// <summary>The app settings this app reads besides the storage connection (environment form: <c>Inference__Name</c>).</summary>
public sealed record InferenceSettings(TimeSpan RefreshInterval, int MaxAttempts, IReadOnlyList<string> WarmupModels, string? CacheDirectory)
{
    public const string Section = "Inference";

    public static InferenceSettings From(IConfiguration configuration)
    {
        var section = configuration.GetSection(Section);
        var warmupKey = AzureContract.WarmupModelsSetting.Replace("__", ":", StringComparison.Ordinal);
        return new InferenceSettings(
            TimeSpan.FromSeconds(Number(section, "RefreshIntervalSeconds", 30, min: 0)),
            (int)Number(section, "MaxAttempts", 3, min: 1),
            (configuration[warmupKey] ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            string.IsNullOrWhiteSpace(section["CacheDirectory"]) ? null : section["CacheDirectory"]);
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

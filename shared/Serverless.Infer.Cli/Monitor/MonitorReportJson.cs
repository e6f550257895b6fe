using System.Text.Json;
using System.Text.Json.Serialization;

namespace Serverless.Infer.Cli.Monitor;

/// <summary>The report as JSON (snake_case names, statistics that do not apply left out).</summary>
internal static class MonitorReportJson
{
    public static byte[] Serialize(MonitorReport report) => JsonSerializer.SerializeToUtf8Bytes(report, MonitorReportJsonContext.Default.MonitorReport);
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UseStringEnumConverter = true,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(MonitorReport))]
internal sealed partial class MonitorReportJsonContext : JsonSerializerContext;

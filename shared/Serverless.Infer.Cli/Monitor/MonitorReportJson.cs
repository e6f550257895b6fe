using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Serverless.Infer.Cli.Monitor;

/// <summary>The report as JSON (snake_case names, statistics that do not apply left out).</summary>
internal static class MonitorReportJson
{
    // The report is a file for people and tools, never embedded in a page: "PSI 0.9 > 0.2" reads better than "\u003E".
    private static readonly MonitorReportJsonContext Context = new(new JsonSerializerOptions(MonitorReportJsonContext.Default.Options)
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });

    public static byte[] Serialize(MonitorReport report) => JsonSerializer.SerializeToUtf8Bytes(report, Context.MonitorReport);
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UseStringEnumConverter = true,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(MonitorReport))]
internal sealed partial class MonitorReportJsonContext : JsonSerializerContext;

using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Serverless.Inference.Telemetry;

namespace Serverless.Infer.Cli;

/// <summary>
/// What <c>infer serve</c> exports: a Prometheus scrape endpoint on its own port, always; and, when the standard
/// OTEL_EXPORTER_OTLP_* variables name a collector, metrics, traces and logs over OTLP (protocol, headers and
/// intervals from the standard variables too).
/// </summary>
internal static class ServeTelemetry
{
    public const string MetricsPath = "/metrics";

    public static void AddServeTelemetry(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var otlpMetrics = HasOtlpEndpoint(name => configuration[name], "METRICS");
        var otlpTraces = HasOtlpEndpoint(name => configuration[name], "TRACES");
        var otlpLogs = HasOtlpEndpoint(name => configuration[name], "LOGS");
        var telemetry = builder.Services.AddOpenTelemetry();
        telemetry.WithMetrics(metrics =>
        {
            metrics.AddMeter([.. TelemetryNames.Meters, .. TelemetryNames.AspNetCoreMeters]);
            metrics.AddPrometheusExporter();
            if (otlpMetrics)
            {
                metrics.AddOtlpExporter();
            }
        });
        if (otlpTraces)
        {
            telemetry.WithTracing(tracing => tracing.AddSource([.. TelemetryNames.ActivitySources]).AddOtlpExporter());
        }

        if (otlpLogs)
        {
            builder.Logging.AddOpenTelemetry(logging => logging.AddOtlpExporter());
        }
    }

    public static void MapServeMetrics(this WebApplication app) => app.MapPrometheusScrapingEndpoint(MetricsPath);

    /// <summary>The signal's own endpoint variable or the shared one, as the OpenTelemetry specification reads them.</summary>
    internal static bool HasOtlpEndpoint(Func<string, string?> setting, string signal) =>
        !string.IsNullOrWhiteSpace(setting("OTEL_EXPORTER_OTLP_ENDPOINT"))
        || !string.IsNullOrWhiteSpace(setting($"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT"));
}

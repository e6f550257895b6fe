using Azure.Core;
using Azure.Identity;
using Azure.Monitor.OpenTelemetry.Exporter;
using Microsoft.Azure.Functions.Worker.OpenTelemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Serverless.Inference.Telemetry;

namespace Serverless.Functions.Azure.Hosting;

/// <summary>
/// Metrics, traces and logs to Application Insights through the Functions worker's OpenTelemetry support, sent from
/// the process in the background (no hop on the request path) and authenticated with Entra ID as the function's
/// managed identity: the Application Insights resource accepts nothing else (its local authentication is disabled).
/// </summary>
internal static class AzureTelemetry
{
    public const string ConnectionStringSetting = "APPLICATIONINSIGHTS_CONNECTION_STRING";

    /// <summary><c>Authorization=AAD;ClientId=&lt;client id of the user-assigned identity&gt;</c>, as the Functions host reads it too.</summary>
    public const string AuthenticationStringSetting = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING";

    /// <summary>Does nothing without <see cref="ConnectionStringSetting"/>: locally, nothing is exported.</summary>
    /// <remarks>
    /// The exporter attaches its trace and log exporters from a hosted service when the host starts (metrics are wired
    /// into the meter provider directly): spans are exported only from a started host. Add this before any hosted
    /// service whose work should be traced (model warm-up), since hosted services start in order.
    /// Traces are sampled by the exporter's default sampler: about 5 traces a second (a root span is kept with a chance
    /// that grows with the time since the last one), and a child of a sampled span always.
    /// </remarks>
    /// <param name="credential">The identity to send as; by default the one <see cref="AuthenticationStringSetting"/> names.</param>
    /// <param name="configure">Further exporter options (tests turn off what would reach Azure's own endpoints).</param>
    public static IServiceCollection AddAzureMonitorTelemetry(
        this IServiceCollection services, IConfiguration configuration, TokenCredential? credential = null, Action<AzureMonitorExporterOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var connectionString = configuration[ConnectionStringSetting];
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            return services;
        }

        var sender = credential ?? CredentialFrom(configuration[AuthenticationStringSetting]);
        services.AddOpenTelemetry()
            .UseFunctionsWorkerDefaults()
            .WithMetrics(metrics => metrics.AddMeter([.. TelemetryNames.Meters, .. TelemetryNames.AspNetCoreMeters]))
            .WithTracing(tracing => tracing.AddSource([.. TelemetryNames.ActivitySources]))
            .UseAzureMonitorExporter(options =>
            {
                options.ConnectionString = connectionString;
                options.Credential = sender;
                configure?.Invoke(options);
            });
        return services;
    }

    /// <summary>
    /// The managed identity an authentication string names; null (the connection string's key alone, which a resource
    /// with local authentication disabled refuses) when it does not ask for Entra ID.
    /// </summary>
    internal static TokenCredential? CredentialFrom(string? authenticationString)
    {
        string? authorization = null;
        string? clientId = null;
        foreach (var part in (authenticationString ?? string.Empty).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                continue;
            }

            var (name, value) = (part[..equals].Trim(), part[(equals + 1)..].Trim());
            if (name.Equals("Authorization", StringComparison.OrdinalIgnoreCase))
            {
                authorization = value;
            }
            else if (name.Equals("ClientId", StringComparison.OrdinalIgnoreCase) && value.Length > 0)
            {
                clientId = value;
            }
        }

        if (!string.Equals(authorization, "AAD", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        return new ManagedIdentityCredential(clientId is null ? ManagedIdentityId.SystemAssigned : ManagedIdentityId.FromUserAssignedClientId(clientId));
    }
}

using System.Text.Json.Nodes;
using Serverless.Infra.Tests.Support;

namespace Serverless.Infra.Tests.Azure;

/// <summary>The deployed app's host.json, as the Functions host reads it, for the telemetry the templates pay for.</summary>
public sealed class HostJsonTests
{
    private static readonly string HostJson = Path.Combine(InfraPaths.RepositoryRoot, "functions-azure", "Serverless.Functions.Azure", "host.json");

    [Fact]
    public async Task Sampling_Requests_SampledWhileExceptionsAreKept()
    {
        var host = JsonNode.Parse(await File.ReadAllTextAsync(HostJson))!;
        var sampling = host["logging"]!["applicationInsights"]!["samplingSettings"]!;
        var excluded = sampling["excludedTypes"]!.GetValue<string>().Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

        Assert.True(sampling["isEnabled"]!.GetValue<bool>());
        // Anonymous health probes produce a request each; requests must go through adaptive sampling.
        Assert.DoesNotContain("Request", excluded, StringComparer.OrdinalIgnoreCase);
        Assert.Null(sampling["includedTypes"]);
        Assert.Equal(["Exception"], excluded);
        Assert.Equal(20, sampling["maxTelemetryItemsPerSecond"]!.GetValue<int>());
    }

    [Fact]
    public async Task TelemetryMode_OpenTelemetry_SoHostAndWorkerShareOneExportPath()
    {
        var host = JsonNode.Parse(await File.ReadAllTextAsync(HostJson))!;

        // With it, the host sends its own telemetry as OpenTelemetry and the worker's exporter owns the app's
        // (Program.cs: UseFunctionsWorkerDefaults + UseAzureMonitorExporter); without it, both would send requests.
        Assert.Equal("OpenTelemetry", host["telemetryMode"]!.GetValue<string>());
    }
}

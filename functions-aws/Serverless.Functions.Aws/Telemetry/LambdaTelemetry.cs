using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using Serverless.Functions.Aws.Runtime;
using Serverless.Inference.Telemetry;

namespace Serverless.Functions.Aws.Telemetry;

/// <summary>
/// Telemetry under the Lambda runtime, the platform's own way: JSON log lines and EMF metric documents on stdout,
/// which Lambda sends to CloudWatch Logs (CloudWatch extracts the metrics); the X-Ray trace continued per invocation.
/// </summary>
internal static class LambdaTelemetry
{
    /// <param name="output">Where lines go; stdout when null.</param>
    public static IServiceCollection AddLambdaTelemetry(this IServiceCollection services, Func<string, string?> variable, LineOutput? output = null)
    {
        ArgumentNullException.ThrowIfNull(variable);
        var lines = output ?? LineOutput.StandardOutput();
        services.AddLogging(logging => logging
            .ClearProviders()
            .AddProvider(new JsonLineLoggerProvider(lines, TimeProvider.System, JsonLineLoggerProvider.MinimumFromEnvironment(variable("AWS_LAMBDA_LOG_LEVEL"))))
            .SetMinimumLevel(LogLevel.Trace));
        services.AddSingleton(provider => new EmfMetricExporter(lines, EmfOptions.From(variable), provider.GetService<TimeProvider>() ?? TimeProvider.System));
        services.AddSingleton(provider =>
        {
            // Delta: each document tells what happened since the previous invocation, as EMF expects.
            var reader = new BaseExportingMetricReader(provider.GetRequiredService<EmfMetricExporter>())
            {
                TemporalityPreference = MetricReaderTemporalityPreference.Delta,
            };
            return new LambdaMeterProvider(BuildMeterProvider(TelemetryNames.Meters, reader), reader);
        });
        services.AddSingleton<IInvocationEndHook>(provider => new MetricsFlushHook(
            provider.GetRequiredService<LambdaMeterProvider>().Reader,
            provider.GetRequiredService<EmfMetricExporter>(),
            provider.GetRequiredService<ILogger<MetricsFlushHook>>()));
        return services;
    }

    /// <summary>The meters, histograms in exponential buckets (which become EMF value arrays), read by <paramref name="reader"/> only.</summary>
    public static MeterProvider BuildMeterProvider(IEnumerable<string> meters, MetricReader reader) =>
        Sdk.CreateMeterProviderBuilder()
            .AddMeter([.. meters])
            .AddView(instrument => IsHistogram(instrument) ? new Base2ExponentialBucketHistogramConfiguration() : null)
            .AddReader(reader)
            .Build();

    private static bool IsHistogram(Instrument instrument) =>
        instrument is Histogram<double> or Histogram<long> or Histogram<int> or Histogram<float>;
}

/// <summary>The meter provider and the reader the flush hook collects; disposed with the service provider.</summary>
internal sealed class LambdaMeterProvider(MeterProvider provider, MetricReader reader) : IDisposable
{
    public MetricReader Reader { get; } = reader;

    public void Dispose() => provider.Dispose();
}

using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using Serverless.Functions.Aws.Runtime;

namespace Serverless.Functions.Aws.Telemetry;

/// <summary>
/// Collects the invocation's metrics and writes them as EMF before the runtime asks for the next event: after that
/// Lambda may freeze the process, and metrics still held would wait for an invocation that may never come.
/// </summary>
internal sealed partial class MetricsFlushHook(MetricReader reader, EmfMetricExporter exporter, ILogger<MetricsFlushHook> logger) : IInvocationEndHook
{
    /// <summary>A bound on the collection, so telemetry can never hold the next invocation up for long.</summary>
    public const int CollectTimeoutMilliseconds = 1000;

    public Task OnInvocationEndAsync(LambdaInvocation invocation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(invocation);
        exporter.Invocation = new InvocationProperties(invocation.RequestId, XRayTraceHeader.TryParse(invocation.TraceId)?.Root);
        try
        {
            if (!reader.Collect(CollectTimeoutMilliseconds))
            {
                LogCollectFailed(logger, invocation.RequestId);
            }
        }
        finally
        {
            exporter.Invocation = null;
        }

        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The metrics of invocation {RequestId} could not be collected in time; they follow with the next invocation's")]
    private static partial void LogCollectFailed(ILogger logger, string requestId);
}

using System.Buffers;
using System.Globalization;
using System.Text.Json;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace Serverless.Functions.Aws.Telemetry;

/// <summary>
/// Writes collected metrics as CloudWatch Embedded Metric Format documents, one JSON line each: CloudWatch Logs
/// extracts the metrics from the function's log stream, with no call to CloudWatch on the request path.
/// Points that share one set of attributes share one document (the attributes are its dimensions, and the function's
/// name one more); a document names at most 100 metrics. Counters are deltas since the previous collection;
/// histograms are value arrays (see <see cref="EmfValueArray"/>) with their min, max, count and sum.
/// </summary>
internal sealed class EmfMetricExporter(LineOutput output, EmfOptions options, TimeProvider time) : BaseExporter<Metric>
{
    /// <summary>The most metrics one directive may name.</summary>
    public const int MaxMetricsPerDirective = 100;

    /// <summary>The most dimensions one dimension set may hold.</summary>
    public const int MaxDimensions = 30;

    /// <summary>The invocation whose end triggered this collection; its request id and trace go into each document.</summary>
    public InvocationProperties? Invocation { get; set; }

    public override ExportResult Export(in Batch<Metric> batch)
    {
        var documents = new Dictionary<string, EmfDocument>(StringComparer.Ordinal);
        foreach (var metric in batch)
        {
            foreach (ref readonly var point in metric.GetMetricPoints())
            {
                if (Value(metric.MetricType, in point) is not { } value)
                {
                    continue;
                }

                var dimensions = Dimensions(in point);
                var key = string.Join('\u001f', dimensions.Select(d => d.Key + '\u001e' + d.Value));
                if (!documents.TryGetValue(key, out var document))
                {
                    documents[key] = document = new EmfDocument(dimensions);
                }

                document.Metrics.Add(new EmfMetric(metric.Name, EmfUnits.From(metric.Unit), value));
            }
        }

        var timestamp = time.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var document in documents.Values)
        {
            foreach (var chunk in document.Metrics.Chunk(MaxMetricsPerDirective))
            {
                output.WriteLine(Serialize(document.Dimensions, chunk, timestamp));
            }
        }

        return ExportResult.Success;
    }

    private List<KeyValuePair<string, string>> Dimensions(in MetricPoint point)
    {
        var dimensions = new List<KeyValuePair<string, string>>();
        if (options.FunctionName is { } function)
        {
            dimensions.Add(new(EmfOptions.FunctionNameDimension, function));
        }

        foreach (var tag in point.Tags)
        {
            // Beyond CloudWatch's limit a dimension is dropped rather than the whole point; no meter we export comes close.
            if (dimensions.Count < MaxDimensions && tag.Key != EmfOptions.FunctionNameDimension)
            {
                dimensions.Add(new(tag.Key, Convert.ToString(tag.Value, CultureInfo.InvariantCulture) ?? string.Empty));
            }
        }

        dimensions.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        return dimensions;
    }

    private static EmfValue? Value(MetricType type, in MetricPoint point)
    {
        switch (type)
        {
            case MetricType.LongSum or MetricType.LongSumNonMonotonic:
                return new EmfValue(point.GetSumLong());
            case MetricType.DoubleSum or MetricType.DoubleSumNonMonotonic:
                return Finite(point.GetSumDouble());
            case MetricType.LongGauge:
                return new EmfValue(point.GetGaugeLastValueLong());
            case MetricType.DoubleGauge:
                return Finite(point.GetGaugeLastValueDouble());
            case MetricType.ExponentialHistogram or MetricType.Histogram:
                var count = point.GetHistogramCount();
                var sum = point.GetHistogramSum();
                if (count == 0 || !double.IsFinite(sum) || !point.TryGetHistogramMinMaxValues(out var min, out var max))
                {
                    return null;
                }

                var statistics = new EmfStatistics(min, max, count, sum);
                if (type == MetricType.ExponentialHistogram)
                {
                    var (values, counts) = EmfValueArray.FromExponential(point.GetExponentialHistogramData(), min, max);
                    return new EmfValue(statistics with { Values = values, Counts = counts });
                }

                // Explicit buckets say too little for percentiles: a statistic set (min, max, count, sum) only.
                return new EmfValue(statistics);
            default:
                return null;
        }
    }

    private static EmfValue? Finite(double value) => double.IsFinite(value) ? new EmfValue(value) : null;

    private ReadOnlySpan<byte> Serialize(List<KeyValuePair<string, string>> dimensions, EmfMetric[] metrics, long timestamp)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartObject("_aws");
            json.WriteNumber("Timestamp", timestamp);
            json.WriteStartArray("CloudWatchMetrics");
            json.WriteStartObject();
            json.WriteString("Namespace", options.Namespace);
            json.WriteStartArray("Dimensions");
            json.WriteStartArray();
            foreach (var dimension in dimensions)
            {
                json.WriteStringValue(dimension.Key);
            }

            json.WriteEndArray();
            json.WriteEndArray();
            json.WriteStartArray("Metrics");
            foreach (var metric in metrics)
            {
                json.WriteStartObject();
                json.WriteString("Name", metric.Name);
                json.WriteString("Unit", metric.Unit);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();

            var written = new HashSet<string>(StringComparer.Ordinal) { "_aws" };
            foreach (var (name, value) in dimensions)
            {
                written.Add(name);
                json.WriteString(name, value);
            }

            foreach (var metric in metrics)
            {
                if (written.Add(metric.Name))
                {
                    metric.Value.WriteTo(json, metric.Name);
                }
            }

            // Not metrics: properties CloudWatch Logs Insights can search by, to find the invocation behind a value.
            if (Invocation is { } invocation)
            {
                if (written.Add("requestId"))
                {
                    json.WriteString("requestId", invocation.RequestId);
                }

                if (invocation.TraceId is { } traceId && written.Add("traceId"))
                {
                    json.WriteString("traceId", traceId);
                }
            }

            json.WriteEndObject();
        }

        return buffer.WrittenSpan;
    }

    private sealed record EmfDocument(List<KeyValuePair<string, string>> Dimensions)
    {
        public List<EmfMetric> Metrics { get; } = [];
    }

    private sealed record EmfMetric(string Name, string Unit, EmfValue Value);
}

using System.Text.Json;

namespace Serverless.Functions.Aws.Telemetry;

/// <summary>A metric's value in an EMF document: a number, or a histogram's statistics (with a value array when there is one).</summary>
internal sealed class EmfValue
{
    private readonly double _number;
    private readonly EmfStatistics? _statistics;

    public EmfValue(double number) => _number = number;

    public EmfValue(EmfStatistics statistics) => _statistics = statistics;

    public void WriteTo(Utf8JsonWriter json, string name)
    {
        if (_statistics is not { } statistics)
        {
            json.WriteNumber(name, _number);
            return;
        }

        json.WriteStartObject(name);
        if (statistics.Values is { } values && statistics.Counts is { } counts)
        {
            json.WriteStartArray("Values");
            foreach (var value in values)
            {
                json.WriteNumberValue(value);
            }

            json.WriteEndArray();
            json.WriteStartArray("Counts");
            foreach (var count in counts)
            {
                json.WriteNumberValue(count);
            }

            json.WriteEndArray();
        }

        json.WriteNumber("Max", statistics.Max);
        json.WriteNumber("Min", statistics.Min);
        json.WriteNumber("Count", statistics.Count);
        json.WriteNumber("Sum", statistics.Sum);
        json.WriteEndObject();
    }
}

/// <summary>A histogram's statistic set, with the value array CloudWatch computes percentiles from, when there is one.</summary>
internal sealed record EmfStatistics(double Min, double Max, long Count, double Sum)
{
    public IReadOnlyList<double>? Values { get; init; }

    public IReadOnlyList<long>? Counts { get; init; }
}

using System.Text.Json;

namespace Serverless.Samples.SensorModel;

/// <param name="Failing">How many pumps (the last ones) drift into failure.</param>
/// <param name="Interval">The wait between rounds; zero writes everything at once.</param>
internal sealed record GenerateSettings(FileInfo Output, int Sensors, int Failing, int Steps, TimeSpan Interval, int Seed);

/// <summary>
/// <c>generate</c>: appends rounds of readings (one per pump) to a JSON lines file, flushed after each round so a
/// reader following the file sees them as they happen. A line carries the pump's id as "key" (the partition key <c>infer stream</c> reads by default), the time and the four readings,
/// never the simulation's label: <c>{"key":"pump-05","timestamp":"...","temperature":61.2,...}</c>.
/// </summary>
internal static class ReadingsWriter
{
    public static async Task<int> RunAsync(GenerateSettings settings, TimeProvider time, CancellationToken cancellationToken)
    {
        var simulation = new SensorSimulation(settings.Seed);
        // A failing pump reaches its failure point five sixths of the way through, so the stream shows it afterwards too.
        var failAt = Math.Max(SensorSimulation.DegradationSteps, settings.Steps - (settings.Steps / 6));
        var pumps = Enumerable.Range(1, settings.Sensors)
            .Select(i => simulation.Readings($"pump-{i:D2}", settings.Steps, i > settings.Sensors - settings.Failing ? failAt : null).GetEnumerator())
            .ToList();
        await using var file = new FileStream(settings.Output.FullName, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
        await using var json = new Utf8JsonWriter(file);
        try
        {
            for (var step = 0; step < settings.Steps; step++)
            {
                foreach (var pump in pumps)
                {
                    pump.MoveNext();
                    Write(json, pump.Current, time.GetUtcNow());
                    await json.FlushAsync(cancellationToken);
                    file.WriteByte((byte)'\n');
                    json.Reset();
                }

                await file.FlushAsync(cancellationToken);
                if (settings.Interval > TimeSpan.Zero && step + 1 < settings.Steps)
                {
                    await Task.Delay(settings.Interval, time, cancellationToken);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Ctrl+C ends the generator; every round written so far is whole.
            return 130;
        }
        finally
        {
            pumps.ForEach(p => p.Dispose());
        }

        Console.Error.WriteLine($"wrote {settings.Steps * settings.Sensors} readings of {settings.Sensors} pumps to {settings.Output.FullName}");
        return 0;
    }

    private static void Write(Utf8JsonWriter json, SensorReading reading, DateTimeOffset timestamp)
    {
        json.WriteStartObject();
        json.WriteString("key"u8, reading.SensorId);
        json.WriteString("timestamp"u8, timestamp);
        json.WriteNumber("temperature"u8, reading.Temperature);
        json.WriteNumber("vibration"u8, reading.Vibration);
        json.WriteNumber("pressure"u8, reading.Pressure);
        json.WriteNumber("rpm"u8, reading.Rpm);
        json.WriteEndObject();
    }
}

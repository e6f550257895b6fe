using System.Globalization;
using System.Text.Json;
using Serverless.Inference.Tests.Support;
using Serverless.Samples.SensorModel;

namespace Serverless.Inference.Tests.Cli;

/// <summary>
/// <c>infer stream</c> as a user runs it: a real process reading sensor readings from a pipe or a growing file,
/// answering each with a prediction line as it comes and alerting for the pump that heads for failure.
/// </summary>
public sealed class StreamCommandTests : IDisposable
{
    /// <summary>A guard against a test hanging forever; never a timing assertion.</summary>
    private static readonly TimeSpan HangGuard = TimeSpan.FromMinutes(2);

    private readonly string _folder = Directory.CreateTempSubdirectory("stream-tests-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task Pipe_EachPredictionArrivesBeforeTheNextReadingIsWritten()
    {
        // A latency bound far above what the test waits for would still pass this test if nothing waited for it, so
        // it is the default: a prediction must come out while the pipe stays open and idle.
        using var stream = StartStream();
        var readings = new SensorSimulation(11).Readings("pump-01", 5, failAt: null).ToList();

        for (var i = 0; i < readings.Count; i++)
        {
            await stream.Input.WriteLineAsync(Json(readings[i]));
            await stream.Input.FlushAsync();
            var prediction = await WaitForPredictionAsync(stream, i + 1);
            Assert.Equal("pump-01", prediction.GetProperty("key").GetString());
            Assert.Equal("sensor", prediction.GetProperty("model").GetString());
            Assert.Equal("normal", Label(prediction));
        }

        Assert.Equal(readings.Count, Predictions(stream.Output).Count);
        stream.Input.Close();
        Assert.Equal(0, await stream.WaitForExitAsync(HangGuard));
    }

    [Fact]
    public async Task FleetWithOneFailingPump_AlertsForThatPumpOnly()
    {
        using var stream = StartStream();
        var simulation = new SensorSimulation(12);
        var pumps = new[]
        {
            simulation.Readings("pump-01", 60, failAt: null).ToList(),
            simulation.Readings("pump-02", 60, failAt: 50).ToList(),
            simulation.Readings("pump-03", 60, failAt: null).ToList(),
        };

        // Interleaved as a fleet reports: one reading of every pump per round.
        for (var step = 0; step < 60; step++)
        {
            foreach (var pump in pumps)
            {
                await stream.Input.WriteLineAsync(Json(pump[step]));
            }
        }

        stream.Input.Close();
        Assert.Equal(0, await stream.WaitForExitAsync(HangGuard));

        var predictions = Predictions(stream.Output);
        Assert.Equal(180, predictions.Count);
        Assert.Equal(Enumerable.Range(1, 180).Select(i => i.ToString(CultureInfo.InvariantCulture)), predictions.Select(p => p.GetProperty("position").GetString()));
        var alerts = Alerts(stream.Output);
        Assert.NotEmpty(alerts);
        Assert.All(alerts, a => Assert.Equal("pump-02", a.GetProperty("key").GetString()));
        // The first alert comes before pump-02's failure point (its reading 50 is line 3 * 50 + 2).
        Assert.True(alerts.Min(a => int.Parse(a.GetProperty("position").GetString()!, CultureInfo.InvariantCulture)) < (3 * 50) + 2, stream.Output);
        // Each alert names a reading predicted "failure", and comes out after that prediction.
        var lines = stream.Output.Split('\n');
        foreach (var alert in alerts)
        {
            var position = alert.GetProperty("position").GetString();
            Assert.Equal("failure", Label(predictions.Single(p => p.GetProperty("position").GetString() == position)));
            var predictionLine = Array.FindIndex(lines, l => !l.StartsWith("{\"alert\"", StringComparison.Ordinal) && l.Contains($"\"position\":\"{position}\"", StringComparison.Ordinal));
            var alertLine = Array.FindIndex(lines, l => l.Contains(alert.GetProperty("id").GetString()!, StringComparison.Ordinal));
            Assert.True(predictionLine < alertLine, stream.Output);
        }
    }

    [Fact]
    public async Task BadLines_EachGetsItsErrorLine_TheStreamGoesOn()
    {
        using var stream = StartStream();
        var good = Json(new SensorSimulation(13).Readings("pump-01", 1, failAt: null).Single());
        string[] lines =
        [
            good,
            "not json at all",
            """{"key":"pump-01","temperature":"hot","vibration":2.0,"pressure":5.0,"rpm":1480}""",
            """{"key":"pump-01","temperature":60.1,"vibration":2.0}""",
            "",
            good,
        ];

        foreach (var line in lines)
        {
            await stream.Input.WriteLineAsync(line);
        }

        stream.Input.Close();
        Assert.Equal(0, await stream.WaitForExitAsync(HangGuard));

        var results = Predictions(stream.Output);
        Assert.Equal(lines.Length, results.Count);
        Assert.Equal("normal", Label(results[0]));
        Assert.Equal("normal", Label(results[5]));
        foreach (var bad in results.Skip(1).Take(4))
        {
            Assert.False(bad.TryGetProperty("outputs", out _), bad.ToString());
            Assert.False(string.IsNullOrEmpty(bad.GetProperty("error").GetString()));
        }

        Assert.Contains("temperature", results[2].GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Contains("pressure", results[3].GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task EndOfInput_FlushesTheLastBatchWithoutWaitingForTheLatencyBound()
    {
        // A bound of ten minutes: had the end of input not flushed, the test would hit its guard first.
        using var stream = StartStream("--max-latency-ms", "600000");
        var readings = new SensorSimulation(14).Readings("pump-01", 7, failAt: null).ToList();
        foreach (var reading in readings)
        {
            await stream.Input.WriteLineAsync(Json(reading));
        }

        stream.Input.Close();

        Assert.Equal(0, await stream.WaitForExitAsync(HangGuard));
        Assert.Equal(readings.Count, Predictions(stream.Output).Count);
    }

    [Fact]
    public async Task Follow_FileBeingAppended_PredictsEachReadingAsItIsWritten()
    {
        var path = Path.Combine(_folder, "readings.jsonl");
        var readings = new SensorSimulation(15).Readings("pump-07", 4, failAt: null).Select(Json).ToList();
        await File.WriteAllLinesAsync(path, readings.Take(2));
        using var stream = InferProcess.Start(_folder, InferProcess.Infer, "stream", "--model", "sensor", "--repository", TempModelRepository.SampleModels, "--input", path, "--follow");

        await WaitForPredictionAsync(stream, 2);
        for (var i = 2; i < readings.Count; i++)
        {
            await File.AppendAllTextAsync(path, readings[i] + "\n");
            var prediction = await WaitForPredictionAsync(stream, i + 1);
            Assert.Equal("pump-07", prediction.GetProperty("key").GetString());
        }

        // Following never ends at the file's end: the process is still there, waiting for more.
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        Assert.Equal(readings.Count, Predictions(stream.Output).Count);
    }

    [Fact]
    public async Task Input_FileWithoutFollow_EndsAtItsEnd_AlertsToTheirOwnFile()
    {
        var path = Path.Combine(_folder, "readings.jsonl");
        var alertsPath = Path.Combine(_folder, "alerts.jsonl");
        var simulation = new SensorSimulation(16);
        await File.WriteAllLinesAsync(path, simulation.Readings("pump-09", 60, failAt: 45).Select(Json));
        using var stream = InferProcess.Start(_folder, InferProcess.Infer, "stream", "--model", "sensor", "--repository", TempModelRepository.SampleModels, "--input", path, "--alerts", alertsPath);

        Assert.Equal(0, await stream.WaitForExitAsync(HangGuard));

        Assert.Equal(60, Predictions(stream.Output).Count);
        Assert.Empty(Alerts(stream.Output));
        var alerts = (await File.ReadAllLinesAsync(alertsPath)).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.NotEmpty(alerts);
        Assert.All(alerts, a => Assert.Equal("pump-09", a.GetProperty("key").GetString()));
    }

    [Fact]
    public async Task Interrupt_WhileWaitingForInput_AnswersWhatItReadAndExits130()
    {
        using var stream = StartStream();
        var reading = Json(new SensorSimulation(17).Readings("pump-01", 1, failAt: null).Single());
        await stream.Input.WriteLineAsync(reading);
        await stream.Input.FlushAsync();
        await WaitForPredictionAsync(stream, 1);

        // Standard input stays open: the command is blocked reading it when Ctrl+C (SIGINT, sent with kill(1)) comes.
        using (var kill = System.Diagnostics.Process.Start("kill", ["-INT", stream.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        Assert.Equal(130, await stream.WaitForExitAsync(HangGuard));
        Assert.Single(Predictions(stream.Output));
    }

    [Fact]
    public async Task UnknownModel_OneLineErrorExitOne()
    {
        using var stream = InferProcess.Start(_folder, InferProcess.Infer, "stream", "--model", "no-such-model", "--repository", TempModelRepository.SampleModels, "--input", "/dev/null");

        Assert.Equal(1, await stream.WaitForExitAsync(HangGuard));
        Assert.StartsWith("error: ", stream.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", stream.Output, StringComparison.Ordinal);
    }

    private InferProcess StartStream(params string[] options) =>
        InferProcess.StartWithInput(_folder, InferProcess.Infer, ["stream", "--model", "sensor", "--repository", TempModelRepository.SampleModels, .. options]);

    private static string Json(SensorReading r) => string.Create(
        CultureInfo.InvariantCulture,
        $$"""{"key":"{{r.SensorId}}","temperature":{{r.Temperature}},"vibration":{{r.Vibration}},"pressure":{{r.Pressure}},"rpm":{{r.Rpm}}}""");

    private static async Task<JsonElement> WaitForPredictionAsync(InferProcess stream, int position)
    {
        var text = $"\"position\":\"{position.ToString(CultureInfo.InvariantCulture)}\"";
        await stream.WaitForOutputAsync(text, HangGuard);
        return Predictions(stream.Output).Single(p => p.GetProperty("position").GetString() == position.ToString(CultureInfo.InvariantCulture));
    }

    private static string? Label(JsonElement prediction) =>
        prediction.GetProperty("outputs").GetProperty("PredictedLabel.output")[0].GetString();

    private static List<JsonElement> Lines(string output) =>
        [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement)];

    private static List<JsonElement> Predictions(string output) => [.. Lines(output).Where(l => !l.TryGetProperty("alert", out _))];

    private static List<JsonElement> Alerts(string output) => [.. Lines(output).Where(l => l.TryGetProperty("alert", out _)).Select(l => l.GetProperty("alert"))];
}

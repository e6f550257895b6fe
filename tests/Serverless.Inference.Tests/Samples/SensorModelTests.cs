using System.Text;
using System.Text.Json;
using Serverless.Inference.Hosting;
using Serverless.Inference.Repository;
using Serverless.Inference.Runtime;
using Serverless.Inference.Tests.Support;
using Serverless.Samples.SensorModel;

namespace Serverless.Inference.Tests.Samples;

/// <summary>
/// The committed sensor sample model through the real ONNX Runtime: it gives expected.json's outputs, and it tells
/// simulated pumps heading for failure from healthy ones on a fleet it was not trained on (seed 3; training used 1,
/// the trainer's own check 2).
/// </summary>
public sealed class SensorModelTests : IDisposable
{
    // The trainer's hold-out measures 0.995; readings at the edge of the "failure" label are noisy either way,
    // so a model that learned the mechanism clears 0.97 while one that learned little (all "normal" scores ~0.85) does not.
    private const double MinimumAccuracy = 0.97;

    // The alert rule of the sample's manifest: this many "failure" readings of one pump in a row.
    private const int Consecutive = 3;

    private static readonly string[] Inputs = ["temperature", "vibration", "pressure", "rpm"];

    private readonly ModelHost _host = new(new LocalFolderModelStore(TempModelRepository.SampleModels), new ModelHostOptions());

    [Fact]
    public async Task CommittedModel_ReproducesExpectedJson()
    {
        using var json = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(TempModelRepository.SampleModels, "sensor", "expected.json")));
        var root = json.RootElement;
        var rows = root.GetProperty("inputs").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetSingle()).ToArray()).ToArray();

        var (scores, labels) = await ClassifyAsync(rows);

        Assert.Equal(root.GetProperty("labels").EnumerateArray().Select(l => l.GetString()), labels);
        Assert.Equal(["normal", "normal", "failure"], labels);
        var expected = root.GetProperty("scores").EnumerateArray().SelectMany(r => r.EnumerateArray().Select(v => v.GetSingle())).ToArray();
        Assert.Equal(expected.Length, scores.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], scores[i], 1e-5f);
        }
    }

    [Fact]
    public async Task HeldOutFleet_ReadingsClassifiedAboveTheBound()
    {
        var readings = new SensorSimulation(3).Fleet(60, 120, "test-").ToList();

        var (_, labels) = await ClassifyAsync([.. readings.Select(Features)]);

        var correct = readings.Where((r, i) => r.Label == labels[i]).Count();
        var accuracy = correct / (double)readings.Count;
        Assert.True(accuracy >= MinimumAccuracy, $"accuracy {accuracy:F4} on {readings.Count} held-out readings is under {MinimumAccuracy}");
        // Both classes are present and both are predicted: accuracy is not one class's share.
        Assert.Contains(readings, r => r.Label == SensorSimulation.Failure);
        Assert.Contains(SensorSimulation.Failure, labels);
        Assert.Contains(SensorSimulation.Normal, labels);
    }

    [Fact]
    public async Task HeldOutFleet_FailingPumpsTripTheAlertRule_HealthyOnesNever()
    {
        var pumps = new SensorSimulation(3).Fleet(60, 120, "test-").GroupBy(r => r.SensorId).ToList();

        foreach (var pump in pumps)
        {
            var readings = pump.ToList();
            var (_, labels) = await ClassifyAsync([.. readings.Select(Features)]);
            var failing = readings.Any(r => r.Label == SensorSimulation.Failure);
            var longestRun = LongestRun(labels, SensorSimulation.Failure);

            if (failing)
            {
                Assert.True(longestRun >= Consecutive, $"{pump.Key} heads for failure but at most {longestRun} failure predictions came in a row");
                // The alert must come before the failure point, not after it: the first run of three starts in the failure window.
                var firstAlert = FirstRunEnd(labels, SensorSimulation.Failure, Consecutive);
                var failurePoint = readings.FindLastIndex(r => r.Label == SensorSimulation.Normal) + SensorSimulation.FailureSteps;
                Assert.True(firstAlert < failurePoint, $"{pump.Key} alerts at reading {firstAlert}, its failure point is {failurePoint}");
            }
            else
            {
                Assert.True(longestRun < Consecutive, $"healthy {pump.Key} had {longestRun} failure predictions in a row");
            }
        }
    }

    public void Dispose() => _host.Dispose();

    private static float[] Features(SensorReading r) => [r.Temperature, r.Vibration, r.Pressure, r.Rpm];

    private static int LongestRun(string[] labels, string label)
    {
        int longest = 0, current = 0;
        foreach (var l in labels)
        {
            current = l == label ? current + 1 : 0;
            longest = Math.Max(longest, current);
        }

        return longest;
    }

    private static int FirstRunEnd(string[] labels, string label, int length)
    {
        var current = 0;
        for (var i = 0; i < labels.Length; i++)
        {
            current = labels[i] == label ? current + 1 : 0;
            if (current == length)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Rows through the model in runs of its max_batch_size (256): each reading its own [rows, 1] input, as the model's signature has them.</summary>
    private async Task<(float[] Scores, string[] Labels)> ClassifyAsync(float[][] rows)
    {
        using var lease = await _host.AcquireAsync("sensor", null, CancellationToken.None);
        var runs = rows.Chunk(256).Select(chunk => Run(lease.Model, chunk)).ToList();
        return ([.. runs.SelectMany(r => r.Scores)], [.. runs.SelectMany(r => r.Labels)]);
    }

    private static (float[] Scores, string[] Labels) Run(OnnxModel model, float[][] rows)
    {
        var inputs = Inputs.Select((name, column) => InputTensor.FromArray<float>(name, TensorDataType.Fp32, [rows.Length, 1], rows.Select(r => r[column]).ToArray())).ToList();
        try
        {
            using var outputs = model.Run(inputs, null, CancellationToken.None);
            var scores = outputs.Tensors.Single(t => t.Name == "Score.output").AsSpan<float>().ToArray();
            var labels = outputs.Tensors.Single(t => t.Name == "PredictedLabel.output");
            return (scores, [.. Enumerable.Range(0, rows.Length).Select(i => Encoding.UTF8.GetString(labels.GetBytes(i)))]);
        }
        finally
        {
            inputs.ForEach(i => i.Dispose());
        }
    }
}

using System.Globalization;
using System.Text;
using Serverless.Infer.Cli.Monitor;
using Serverless.Inference.Tests.Monitoring.Support;

namespace Serverless.Inference.Tests.Monitoring;

/// <summary>Sources other than a capture window (training CSV and JSONL, batch results) and the other kinds of feature.</summary>
public sealed class MonitorSourceKindsTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 10, 0, 0, TimeSpan.Zero);
    private readonly string _root = Directory.CreateTempSubdirectory("monitor-kinds-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Output => Path.Combine(_root, "out");

    [Fact]
    public async Task TrainingCsv_AgainstCapture_ComparesTheInputsOnly()
    {
        var random = new Random(5);
        var csv = new StringBuilder("id,Features[0],Features[1],Features[2],Features[3]\n");
        for (var i = 0; i < 5000; i++)
        {
            csv.Append(CultureInfo.InvariantCulture, $"{i},").AppendJoin(',', IrisCapture.Features(random, IrisShift.None).Select(f => f.ToString(CultureInfo.InvariantCulture))).Append('\n');
        }

        var training = Write("training.csv", csv.ToString());
        var current = Path.Combine(_root, "current");
        IrisCapture.WriteWindow(current, Start, 5000, seed: 6, new IrisShift(Feature2: 1.5));

        var report = await MonitorRuns.AnalyzeAsync(MonitorRuns.Settings(training, current, Output));

        Assert.Equal(["inputs.Features[2]"], MonitorRuns.Drifted(report));
        Assert.Equal(4, report.Features.Count);
        Assert.Equal(["outputs: only the current window has them"], report.NotCompared);
    }

    [Fact]
    public async Task TrainingJsonl_RecordsOfInputs_FlattenAsCaptureDoes()
    {
        var random = new Random(8);
        var jsonl = new StringBuilder();
        for (var i = 0; i < 3000; i++)
        {
            jsonl.Append(CultureInfo.InvariantCulture, $"{{\"id\":\"t{i}\",\"Features\":[").AppendJoin(',', IrisCapture.Features(random, IrisShift.None).Select(f => f.ToString(CultureInfo.InvariantCulture))).Append("]}\n");
        }

        var training = Write("training.jsonl", jsonl.ToString());
        var current = Path.Combine(_root, "current");
        IrisCapture.WriteWindow(current, Start, 3000, seed: 9, IrisShift.None);

        var report = await MonitorRuns.AnalyzeAsync(MonitorRuns.Settings(training, current, Output));

        Assert.Empty(MonitorRuns.Drifted(report));
        Assert.Equal(["Features[0]", "Features[1]", "Features[2]", "Features[3]"], report.Features.Select(f => f.Name));
    }

    [Fact]
    public async Task BatchResultFile_AgainstCapture_ComparesTheOutputsAndCountsErrorLinesApart()
    {
        var baseline = Path.Combine(_root, "baseline");
        IrisCapture.WriteWindow(baseline, Start, 4000, seed: 10, IrisShift.None);
        var random = new Random(11);
        var results = new StringBuilder();
        for (var line = 1; line <= 4000; line++)
        {
            var label = random.NextDouble() < 0.8 ? "virginica" : IrisCapture.Labels[random.Next(2)];
            var scores = new[] { random.NextDouble(), random.NextDouble(), random.NextDouble() };
            var sum = scores.Sum();
            results.Append(CultureInfo.InvariantCulture, $"{{\"line\":{line},\"outputs\":{{\"Score\":[{scores[0] / sum:F4},{scores[1] / sum:F4},{scores[2] / sum:F4}],\"PredictedLabel\":\"{label}\"}}}}\n");
        }

        results.Append("{\"line\":4001,\"error\":\"Features: expected 4 values, got 3\"}\n");
        var current = Write("batch/outgoing/iris/flowers.csv.20261201T100000Z.results.jsonl", results.ToString());

        var report = await MonitorRuns.AnalyzeAsync(MonitorRuns.Settings(baseline, current, Output));

        Assert.Equal(["outputs.PredictedLabel"], MonitorRuns.Drifted(report));
        Assert.Equal(["inputs: only the baseline has them"], report.NotCompared);
        Assert.Equal(4000, report.Current.Records);
        Assert.Equal(1, report.Current.NotRows);
    }

    [Fact]
    public async Task EmbeddingsAndText_AreComparedByCentroidAndByLength()
    {
        var baseline = WriteTextRows("baseline.jsonl", seed: 1, direction: 0, words: 8);
        var same = WriteTextRows("same.jsonl", seed: 2, direction: 0, words: 8);
        var moved = WriteTextRows("moved.jsonl", seed: 3, direction: 1, words: 20);

        var quiet = await MonitorRuns.AnalyzeAsync(MonitorRuns.Settings(baseline, same, Output));
        var loud = await MonitorRuns.AnalyzeAsync(MonitorRuns.Settings(baseline, moved, Output));

        Assert.Equal([FeatureKind.Text, FeatureKind.Embedding], quiet.Features.Select(f => f.Kind).Order());
        Assert.Empty(MonitorRuns.Drifted(quiet));
        var embedding = quiet.Features.Single(f => f.Kind == FeatureKind.Embedding);
        Assert.True(embedding.CentroidCosine > 0.99, $"{embedding.CentroidCosine}");
        // Rows are the base direction plus noise of the same size: each row's cosine to the centroid is near 1/√2.
        Assert.InRange(embedding.BaselineMeanCosine!.Value, 0.6, 0.8);
        Assert.InRange(embedding.CurrentMeanCosine!.Value, 0.6, 0.8);
        Assert.Equal(["outputs.embedding", "outputs.text"], MonitorRuns.Drifted(loud));
        Assert.InRange(loud.Features.Single(f => f.Kind == FeatureKind.Embedding).CentroidCosine!.Value, -0.2, 0.2);
    }

    [Fact]
    public async Task Labels_AccuracyPerHourAgainstKnownLabels_AndUnmatchedIdsCounted()
    {
        var current = Path.Combine(_root, "current");
        var written = new List<(string Id, string Label, DateTimeOffset Time)>();
        IrisCapture.WriteWindow(current, Start, 2000, seed: 12, IrisShift.None, hours: 2, written: written);
        var labels = new StringBuilder("id,label\n");
        for (var i = 0; i < written.Count; i++)
        {
            var (id, predicted, time) = written[i];
            if (i % 40 == 39)
            {
                continue;
            }

            // Hour one: every tenth label differs from the prediction; hour two: four in ten.
            var wrong = time < Start.AddHours(1) ? i % 10 == 0 : i % 10 < 4;
            labels.Append(id).Append(',').Append(wrong ? Other(predicted) : predicted).Append('\n');
        }

        labels.Append("unknown-record,setosa\n");
        var settings = MonitorRuns.Settings(current, current, Output) with
        {
            Labels = new FileInfo(Write("labels.csv", labels.ToString())),
            Window = TimeSpan.FromHours(1),
            Thresholds = new DriftThresholds(MinAccuracy: 0.8),
        };

        var report = await MonitorRuns.AnalyzeAsync(settings);

        var accuracy = report.Accuracy!;
        Assert.Equal("PredictedLabel", accuracy.LabelOutput);
        Assert.Equal((1950L, 50L, 1950), (accuracy.Matched, accuracy.Unmatched, accuracy.LabelsUsed));
        Assert.Equal(1951, accuracy.Labels);
        Assert.Collection(
            accuracy.Windows,
            w => Assert.Equal((Start, 975L, 875L), (w.Start!.Value, w.Rows, w.Correct)),
            w => Assert.Equal((Start.AddHours(1), 975L, 575L), (w.Start!.Value, w.Rows, w.Correct)));
        Assert.True(accuracy.BelowMinimum);
        Assert.Empty(MonitorRuns.Drifted(report));
        Assert.Equal(MonitorExitCodes.Drift, await MonitorCommand.RunAsync(settings, CancellationToken.None));
        Assert.Equal(MonitorExitCodes.Ok, await MonitorCommand.RunAsync(settings with { Thresholds = new DriftThresholds(MinAccuracy: 0.7) }, CancellationToken.None));
    }

    private static string Other(string label) => label == "setosa" ? "virginica" : "setosa";

    /// <summary>Rows with a 384-element embedding (a base direction plus noise) and a sentence of random words.</summary>
    private string WriteTextRows(string name, int seed, int direction, int words)
    {
        var random = new Random(seed);
        var text = new StringBuilder();
        for (var i = 0; i < 3000; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"{{\"time\":\"2026-12-01T10:{i % 60:D2}:00Z\",\"model\":\"minilm\",\"version\":\"1\",\"id\":\"{name}-{i}\",\"inputs\":{{}},\"outputs\":{{\"text\":\"");
            for (var w = 0; w < words + random.Next(4); w++)
            {
                text.Append(w == 0 ? "" : " ").Append(CultureInfo.InvariantCulture, $"w{random.Next(100_000)}");
            }

            text.Append("\",\"embedding\":[");
            for (var d = 0; d < 384; d++)
            {
                var value = (d == direction ? 1.0 : 0.0) + (0.05 * ((random.NextDouble() * 2) - 1) * Math.Sqrt(3));
                text.Append(d == 0 ? "" : ",").Append(value.ToString("F4", CultureInfo.InvariantCulture));
            }

            text.Append("]}}\n");
        }

        return Write(name, text.ToString());
    }

    private string Write(string relative, string text)
    {
        var path = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }
}

using System.Globalization;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;

namespace Serverless.Samples.SensorModel;

/// <summary>Trains the pump classifier on a simulated fleet, checks it on another, exports it to ONNX with expected.json.</summary>
internal static class SensorTraining
{
    /// <summary>The seeds of the training fleet and the held-out fleet (the tests hold out a third one of their own).</summary>
    private const int TrainingSeed = 1;
    private const int HoldOutSeed = 2;

    // Reference rows for expected.json: a healthy pump, one degrading but not yet at risk, one about to fail.
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private static readonly float[][] Samples = [[60.4f, 2.05f, 5.02f, 1481f], [68.5f, 3.4f, 4.6f, 1455f], [85.1f, 7.2f, 3.55f, 1392f]];

    public static int Run(string? modelPath)
    {
        modelPath ??= Path.Combine(FindRepositoryRoot(AppContext.BaseDirectory), "shared", "sample-models", "sensor", "1", "model.onnx");
        var expectedPath = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(modelPath)!, "..", "expected.json"));

        var mlContext = new MLContext(seed: 1);
        var training = mlContext.Data.LoadFromEnumerable(new SensorSimulation(TrainingSeed).Fleet(300, 120, "train-").Select(TrainingRow.From));
        // "normal" comes first in the data, so it is class 0 and the score columns read normal, failure.
        var labels = mlContext.Transforms.Conversion.MapValueToKey("Label", nameof(TrainingRow.Label)).Fit(training);
        var model = mlContext.Transforms.Concatenate("Features", "temperature", "vibration", "pressure", "rpm")
            .Append(mlContext.Transforms.NormalizeMeanVariance("Features"))
            .Append(mlContext.MulticlassClassification.Trainers.LbfgsMaximumEntropy())
            .Append(mlContext.Transforms.Conversion.MapKeyToValue("PredictedLabel"))
            .Fit(labels.Transform(training));

        var holdOut = labels.Transform(mlContext.Data.LoadFromEnumerable(new SensorSimulation(HoldOutSeed).Fleet(90, 120, "check-").Select(TrainingRow.From)));
        var predictions = model.Transform(holdOut);
        var metrics = mlContext.MulticlassClassification.Evaluate(predictions);
        Console.WriteLine($"Held-out micro accuracy: {metrics.MicroAccuracy:F4} (macro {metrics.MacroAccuracy:F4})");
        VBuffer<ReadOnlyMemory<char>> classes = default;
        predictions.Schema["Score"].GetSlotNames(ref classes);
        Console.WriteLine($"Score slots: {string.Join(", ", classes.DenseValues())}");

        var sampleData = mlContext.Data.LoadFromEnumerable(Samples.Select(s => new SensorFeatures(s[0], s[1], s[2], s[3])));
        Directory.CreateDirectory(Path.GetDirectoryName(modelPath)!);
        using (var stream = File.Create(modelPath))
        {
            mlContext.Model.ConvertToOnnx(model, sampleData, stream, "Score", "PredictedLabel");
        }

        Console.WriteLine($"Wrote {modelPath} ({new FileInfo(modelPath).Length} bytes)");
        var expected = RunOnnx(modelPath);
        var json = JsonSerializer.Serialize(expected, Json);
        File.WriteAllText(expectedPath, json + "\n");
        Console.WriteLine($"Wrote {expectedPath}");
        return 0;
    }

    /// <summary>The reference rows through ONNX Runtime, one input tensor [rows, 1] per reading.</summary>
    private static ExpectedOutputs RunOnnx(string modelPath)
    {
        using var session = new InferenceSession(modelPath);
        foreach (var (name, node) in session.InputMetadata.Concat(session.OutputMetadata))
        {
            Console.WriteLine($"{name}: {node.ElementDataType}[{string.Join(",", node.Dimensions)}]");
        }

        string[] inputNames = ["temperature", "vibration", "pressure", "rpm"];
        var inputs = inputNames.Select((_, column) => OrtValue.CreateTensorValueFromMemory(Samples.Select(s => s[column]).ToArray(), [Samples.Length, 1])).ToList();
        try
        {
            using var runOptions = new RunOptions();
            using var outputs = session.Run(runOptions, inputNames, inputs, ["Score.output", "PredictedLabel.output"]);
            var classCount = (int)outputs[0].GetTensorTypeAndShape().Shape[^1];
            var scores = outputs[0].GetTensorDataAsSpan<float>().ToArray().Chunk(classCount).ToArray();
            var labels = Enumerable.Range(0, Samples.Length).Select(i => outputs[1].GetStringElement(i)).ToArray();
            for (var i = 0; i < Samples.Length; i++)
            {
                Console.WriteLine($"[{string.Join(", ", Samples[i])}] -> {labels[i]} [{string.Join(", ", scores[i].Select(s => s.ToString("R", CultureInfo.InvariantCulture)))}]");
            }

            return new ExpectedOutputs(Samples, scores, labels);
        }
        finally
        {
            inputs.ForEach(i => i.Dispose());
        }
    }

    private static string FindRepositoryRoot(string start)
    {
        for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "global.json")))
            {
                return directory.FullName;
            }
        }

        throw new DirectoryNotFoundException($"No global.json above {start}.");
    }
}

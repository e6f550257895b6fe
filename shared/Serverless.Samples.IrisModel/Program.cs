using System.Globalization;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Serverless.Samples.IrisModel;

const int FeatureCount = 4;

var repositoryRoot = FindRepositoryRoot(AppContext.BaseDirectory);
var modelPath = Path.GetFullPath(args.Length > 0
    ? args[0]
    : Path.Combine(repositoryRoot, "shared", "sample-models", "iris", "1", "model.onnx"));
var expectedPath = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(modelPath)!, "..", "expected.json"));

var mlContext = new MLContext(seed: 1);
var data = mlContext.Data.LoadFromTextFile<IrisRow>(
    Path.Combine(AppContext.BaseDirectory, "iris.csv"), separatorChar: ',', hasHeader: true);

var preparation = mlContext.Transforms.Concatenate("Features",
        nameof(IrisRow.SepalLength), nameof(IrisRow.SepalWidth), nameof(IrisRow.PetalLength), nameof(IrisRow.PetalWidth))
    .Append(mlContext.Transforms.Conversion.MapValueToKey("Label", nameof(IrisRow.Species)))
    .Fit(data);
var trainingData = preparation.Transform(data);

var model = mlContext.MulticlassClassification.Trainers.LbfgsMaximumEntropy()
    .Append(mlContext.Transforms.Conversion.MapKeyToValue("PredictedLabel"))
    .Fit(trainingData);

var predictions = model.Transform(trainingData);
var metrics = mlContext.MulticlassClassification.Evaluate(predictions);
Console.WriteLine($"Training micro accuracy: {metrics.MicroAccuracy:F4} (macro {metrics.MacroAccuracy:F4})");

VBuffer<ReadOnlyMemory<char>> classes = default;
predictions.Schema["Score"].GetSlotNames(ref classes);
Console.WriteLine($"Score slots: {string.Join(", ", classes.DenseValues())}");

float[][] samples = [[5.1f, 3.5f, 1.4f, 0.2f], [6.7f, 3.1f, 4.4f, 1.4f], [6.3f, 3.3f, 6.0f, 2.5f]];
var sampleData = mlContext.Data.LoadFromEnumerable(samples.Select(s => new IrisFeatures(s)));

Directory.CreateDirectory(Path.GetDirectoryName(modelPath)!);
using (var stream = File.Create(modelPath))
{
    mlContext.Model.ConvertToOnnx(model, sampleData, stream, "Score", "PredictedLabel");
}

Console.WriteLine($"Wrote {modelPath} ({new FileInfo(modelPath).Length} bytes)");

using var session = new InferenceSession(modelPath);
PrintSignature("Input", session.InputMetadata);
PrintSignature("Output", session.OutputMetadata);

var scoreName = session.OutputNames.Single(n => n.StartsWith("Score", StringComparison.Ordinal));
var labelName = session.OutputNames.Single(n => n.StartsWith("PredictedLabel", StringComparison.Ordinal));

using var input = OrtValue.CreateTensorValueFromMemory(samples.SelectMany(s => s).ToArray(), [samples.Length, FeatureCount]);
using var runOptions = new RunOptions();
using var outputs = session.Run(runOptions, [session.InputNames.Single()], [input], [scoreName, labelName]);

var classCount = (int)outputs[0].GetTensorTypeAndShape().Shape[^1];
var scores = outputs[0].GetTensorDataAsSpan<float>().ToArray().Chunk(classCount).ToArray();
var labels = Enumerable.Range(0, samples.Length).Select(i => outputs[1].GetStringElement(i)).ToArray();

for (var i = 0; i < samples.Length; i++)
{
    Console.WriteLine($"[{string.Join(", ", samples[i])}] -> {labels[i]} [{string.Join(", ", scores[i].Select(s => s.ToString("R", CultureInfo.InvariantCulture)))}]");
}

var json = JsonSerializer.Serialize(new ExpectedOutputs(samples, scores, labels), new JsonSerializerOptions(JsonSerializerDefaults.Web));
File.WriteAllText(expectedPath, json + "\n");
Console.WriteLine($"Wrote {expectedPath}");

static void PrintSignature(string kind, IReadOnlyDictionary<string, NodeMetadata> metadata)
{
    foreach (var (name, node) in metadata)
    {
        Console.WriteLine($"{kind} {name}: {node.ElementDataType}[{string.Join(",", node.Dimensions)}]");
    }
}

static string FindRepositoryRoot(string start)
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

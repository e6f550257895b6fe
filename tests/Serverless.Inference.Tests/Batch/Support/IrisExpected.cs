using System.Globalization;
using System.Text;
using System.Text.Json;
using Serverless.Inference.Runtime;
using Serverless.Inference.Tests.Support;

namespace Serverless.Inference.Tests.Batch.Support;

/// <summary>The sample iris model's hand-checkable cases, from <c>models/iris/expected.json</c>.</summary>
public static class IrisExpected
{
    public const string Header = "sepal_length,sepal_width,petal_length,petal_width";

    public const float Tolerance = 1e-5f;

    private static readonly Lazy<(float[][] Inputs, float[][] Scores, string[] Labels)> Cases = new(() =>
    {
        using var json = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(TempModelRepository.SampleModels, "iris", "expected.json")));
        var root = json.RootElement;
        float[][] Rows(string name) => [.. root.GetProperty(name).EnumerateArray().Select(row => row.EnumerateArray().Select(v => v.GetSingle()).ToArray())];
        return (Rows("inputs"), Rows("scores"), [.. root.GetProperty("labels").EnumerateArray().Select(l => l.GetString()!)]);
    });

    public static int Count => Inputs.Count;

    public static IReadOnlyList<float[]> Inputs => Cases.Value.Inputs;

    public static IReadOnlyList<float[]> Scores => Cases.Value.Scores;

    public static IReadOnlyList<string> Labels => Cases.Value.Labels;

    /// <summary>The four features as JSON: <c>[5.1,3.5,1.4,0.2]</c>.</summary>
    public static string Json(int i) => Json(Inputs[i]);

    public static string Json(float[] features) => "[" + string.Join(',', features.Select(Format)) + "]";

    /// <summary>The four features as CSV fields.</summary>
    public static string Csv(int i) => string.Join(',', Inputs[i].Select(Format));

    public static string Format(float value) => value.ToString(CultureInfo.InvariantCulture);

    public static void AssertScores(IReadOnlyList<float> expected, IEnumerable<float> actual)
    {
        var values = actual.ToArray();
        Assert.Equal(expected.Count, values.Length);
        for (var i = 0; i < values.Length; i++)
        {
            Assert.Equal(expected[i], values[i], Tolerance);
        }
    }

    /// <summary>A JSON lines <c>outputs</c> object of one row against case <paramref name="i"/>.</summary>
    public static void AssertOutputs(int i, JsonElement outputs)
    {
        AssertScores(Scores[i], outputs.GetProperty("Score.output").EnumerateArray().Select(v => v.GetSingle()));
        Assert.Equal([Labels[i]], outputs.GetProperty("PredictedLabel.output").EnumerateArray().Select(v => v.GetString()));
    }

    /// <summary>Runs the model on one row by itself, without the batch code: the reference for batched results.</summary>
    internal static (float[] Scores, string Label) RunSingle(OnnxModel model, float[] features)
    {
        using var input = InputTensor.FromArray<float>("Features", TensorDataType.Fp32, [1, 4], features);
        using var outputs = model.Run([input], null, CancellationToken.None);
        var scores = outputs.Tensors.Single(t => t.Name == "Score.output").AsSpan<float>().ToArray();
        var label = Encoding.UTF8.GetString(outputs.Tensors.Single(t => t.Name == "PredictedLabel.output").GetBytes(0));
        return (scores, label);
    }
}

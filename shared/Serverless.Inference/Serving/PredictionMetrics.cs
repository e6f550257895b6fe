using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Serverless.Inference.Runtime;
using Serverless.Inference.Telemetry;

namespace Serverless.Inference.Serving;

/// <summary>
/// What a model answers, as metrics a dashboard can show without reading payloads: per output, the classes it
/// predicts (a label output's strings, an integer class output, or the index of a score vector's highest element)
/// and the scores (a single-value output's value, or a score vector's highest element). Outputs of more than
/// <see cref="MaxScoresPerRow"/> elements a row (embeddings, images) are left to prediction capture.
/// </summary>
internal static class PredictionMetrics
{
    public const int MaxScoresPerRow = 64;

    /// <summary>Distinct classes counted per output; later ones count as "other", so a free-text output cannot flood the metric store.</summary>
    public const int MaxClassesPerOutput = 64;

    private const int MaxClassBytes = 64;

    private static readonly ConcurrentDictionary<(string Model, string Version, string Output), ConcurrentDictionary<string, byte>> Classes = new();

    public static void Record(string model, string version, ModelOutputs outputs, int rows)
    {
        if (!InferenceTelemetry.PredictedClasses.Enabled && !InferenceTelemetry.PredictionScores.Enabled)
        {
            return;
        }

        foreach (var tensor in outputs.Tensors)
        {
            var perRow = rows > 0 && tensor.Shape is [var first, ..] && first == rows ? tensor.ElementCount / rows : tensor.ElementCount;
            var rowCount = perRow == tensor.ElementCount ? 1 : rows;
            if (perRow < 1 || perRow > MaxScoresPerRow)
            {
                continue;
            }

            TagList tags = new() { { "model.name", model }, { "model.version", version }, { "output", tensor.Name } };
            for (var row = 0; row < rowCount; row++)
            {
                RecordRow(tensor, row * perRow, perRow, tags);
            }
        }
    }

    private static void RecordRow(OutputTensor tensor, int start, int count, TagList tags)
    {
        switch (tensor.DataType)
        {
            case TensorDataType.Bytes:
                for (var element = start; element < start + count; element++)
                {
                    CountClass(tags, tensor.GetBytes(element));
                }

                break;
            case TensorDataType.Fp32 or TensorDataType.Fp64:
                var (best, bestIndex) = Highest(tensor, start, count);
                InferenceTelemetry.PredictionScores.Record(best, tags);
                if (count > 1)
                {
                    CountClass(tags, bestIndex.ToString(System.Globalization.CultureInfo.InvariantCulture));
                }

                break;
            case TensorDataType.Int32 or TensorDataType.Int64 when count == 1:
                var value = tensor.DataType == TensorDataType.Int32 ? tensor.AsSpan<int>()[start] : tensor.AsSpan<long>()[start];
                CountClass(tags, value.ToString(System.Globalization.CultureInfo.InvariantCulture));
                break;
        }
    }

    private static (double Value, int Index) Highest(OutputTensor tensor, int start, int count)
    {
        var best = double.NegativeInfinity;
        var index = 0;
        for (var element = 0; element < count; element++)
        {
            var value = tensor.DataType == TensorDataType.Fp32 ? tensor.AsSpan<float>()[start + element] : tensor.AsSpan<double>()[start + element];
            if (value > best)
            {
                (best, index) = (value, element);
            }
        }

        return (best, index);
    }

    private static void CountClass(TagList tags, ReadOnlySpan<byte> label) =>
        CountClass(tags, label.Length <= MaxClassBytes ? Encoding.UTF8.GetString(label) : "other");

    private static void CountClass(TagList tags, string label)
    {
        var key = ((string)tags[0].Value!, (string)tags[1].Value!, (string)tags[2].Value!);
        var seen = Classes.GetOrAdd(key, _ => new ConcurrentDictionary<string, byte>(StringComparer.Ordinal));
        if (!seen.ContainsKey(label))
        {
            label = seen.Count < MaxClassesPerOutput && seen.TryAdd(label, 0) ? label : "other";
        }

        tags.Add("class", label);
        InferenceTelemetry.PredictedClasses.Add(1, tags);
    }
}

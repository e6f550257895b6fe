using System.Globalization;
using System.Text;
using System.Text.Json;
using Serverless.Inference.Runtime;

namespace Serverless.Inference.Optimization.Reports;

/// <summary>
/// The rows both models are run on: lines of a JSONL file in the model's request form (as <c>infer score</c> reads
/// them), or rows made up from the raw signature, which then go to the bare model rather than its pipeline.
/// </summary>
/// <param name="Source">What the rows came from, for messages and the report: a file name or "generated".</param>
/// <param name="Kind">"samples", "calibration" or "generated".</param>
/// <param name="Lines">Each row's JSON text with its line number in the file.</param>
/// <param name="Raw">The rows are the bare model's tensors, not its pipeline's inputs.</param>
internal sealed record SampleSet(string Source, string Kind, IReadOnlyList<SampleLine> Lines, bool Raw)
{
    public const int MaxRows = 10_000;
    public const long MaxFileBytes = 256L << 20;
    public const int GeneratedRows = 16;

    /// <summary>Reads a JSONL file's rows; blank lines are skipped. Throws <see cref="OptimizationException"/> naming the file.</summary>
    public static SampleSet Read(string path, string kind)
    {
        var name = Path.GetFileName(path);
        var file = new FileInfo(path);
        if (!file.Exists)
        {
            throw new OptimizationException($"the {kind} file {path} does not exist");
        }

        if (file.Length > MaxFileBytes)
        {
            throw new OptimizationException($"{name} is larger than {MaxFileBytes >> 20} MB; {MaxRows} varied rows are plenty for a report");
        }

        var lines = new List<SampleLine>();
        var number = 0L;
        foreach (var line in File.ReadLines(path, Encoding.UTF8))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            if (lines.Count == MaxRows)
            {
                throw new OptimizationException($"{name} has more than {MaxRows} rows; a report needs a few hundred varied ones");
            }

            lines.Add(new SampleLine(number, Encoding.UTF8.GetBytes(line)));
        }

        return lines.Count == 0
            ? throw new OptimizationException($"{name} is empty: it needs at least one row in the model's request form (one JSON object per line)")
            : new SampleSet(name, kind, lines, Raw: false);
    }

    /// <summary>
    /// Rows of numbers for a model whose every input is a float tensor of known size beyond the batch dimension;
    /// null when the model takes anything else (texts, images, token ids), which only real samples can exercise.
    /// </summary>
    /// <param name="seed">Fixed, so two runs of the command compare the models on the same rows.</param>
    public static SampleSet? Generate(ModelSignature raw, int seed = 17)
    {
        if (raw.Inputs.Count == 0 || raw.Inputs.Any(input => input.DataType != TensorDataType.Fp32 || input.Shape.Count < 2 || input.Shape.Skip(1).Any(d => d <= 0)))
        {
            return null;
        }

        var random = new Random(seed);
        var lines = new List<SampleLine>(GeneratedRows);
        for (var row = 1; row <= GeneratedRows; row++)
        {
            var json = new StringBuilder("{");
            foreach (var input in raw.Inputs)
            {
                var count = input.Shape.Skip(1).Aggregate(1L, (product, d) => product * d);
                json.Append(json.Length > 1 ? "," : "").Append(JsonSerializer.Serialize(input.Name)).Append(":[");
                for (var i = 0; i < count; i++)
                {
                    json.Append(i > 0 ? "," : "").Append(random.NextSingle().ToString("R", CultureInfo.InvariantCulture));
                }

                json.Append(']');
            }

            lines.Add(new SampleLine(row, Encoding.UTF8.GetBytes(json.Append('}').ToString())));
        }

        return new SampleSet("generated", "generated", lines, Raw: true);
    }
}

/// <param name="Number">The line number in the file (1-based), for messages.</param>
internal sealed record SampleLine(long Number, byte[] Json);

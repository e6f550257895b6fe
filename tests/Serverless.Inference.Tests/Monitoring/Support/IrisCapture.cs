using System.Globalization;
using System.Text;

namespace Serverless.Inference.Tests.Monitoring.Support;

/// <summary>How a generated window differs from the baseline's distributions.</summary>
/// <param name="Feature0">Added to every Features[0] (sepal length, sd 0.8).</param>
/// <param name="Feature2">Added to every Features[2] (petal length, sd 1.7).</param>
/// <param name="SetosaShare">The share of rows predicted setosa; the rest split evenly between the other two.</param>
internal sealed record IrisShift(double Feature0 = 0, double Feature2 = 0, double SetosaShare = 1 / 3.0)
{
    public static IrisShift None { get; } = new();
}

/// <summary>
/// Iris-like prediction capture in the capture record format: capture/iris/1/yyyy/MM/dd/HH/&lt;instance&gt;-&lt;seq&gt;.jsonl,
/// one line per row. Features are drawn independently of the label (each a normal), so shifting one moves nothing else;
/// scores are random shares of three. Seeded: the same arguments write the same bytes.
/// </summary>
internal static class IrisCapture
{
    public static readonly string[] Labels = ["setosa", "versicolor", "virginica"];
    private static readonly double[] Means = [5.8, 3.0, 3.8, 1.2];
    private static readonly double[] Deviations = [0.8, 0.4, 1.7, 0.75];

    /// <summary>Writes <paramref name="rows"/> records spread evenly over <paramref name="hours"/> hours from <paramref name="start"/>.</summary>
    /// <param name="written">Given: receives each record's id, predicted label and time, in order.</param>
    public static void WriteWindow(
        string root, DateTimeOffset start, int rows, int seed, IrisShift shift, int hours = 4, int rowsPerObject = 50_000,
        ICollection<(string Id, string Label, DateTimeOffset Time)>? written = null)
    {
        var random = new Random(seed);
        var step = TimeSpan.FromHours(hours) / rows;
        StreamWriter? writer = null;
        DateTimeOffset? objectHour = null;
        var inObject = 0;
        var sequence = 0;
        var instance = seed.ToString("x12", CultureInfo.InvariantCulture);
        var line = new StringBuilder(256);
        try
        {
            for (var i = 0; i < rows; i++)
            {
                var time = start + (step * i);
                var hour = new DateTimeOffset(time.Year, time.Month, time.Day, time.Hour, 0, 0, TimeSpan.Zero);
                if (writer is null || inObject == rowsPerObject || hour != objectHour)
                {
                    writer?.Dispose();
                    var folder = Path.Combine(root, "capture", "iris", "1", hour.ToString("yyyy/MM/dd/HH", CultureInfo.InvariantCulture));
                    Directory.CreateDirectory(folder);
                    writer = new StreamWriter(Path.Combine(folder, $"{instance}-{sequence++:D8}.jsonl"), append: false, new UTF8Encoding(false));
                    objectHour = hour;
                    inObject = 0;
                }

                var id = $"req-{seed}-{i}";
                var label = Label(random, shift.SetosaShare);
                WriteRecord(line, time, id, Features(random, shift), Scores(random), label);
                writer.Write(line);
                inObject++;
                written?.Add((id, label, time));
            }
        }
        finally
        {
            writer?.Dispose();
        }
    }

    public static double[] Features(Random random, IrisShift shift)
    {
        var features = new double[4];
        for (var f = 0; f < 4; f++)
        {
            features[f] = Math.Round(Means[f] + (Deviations[f] * Normal(random)) + (f == 0 ? shift.Feature0 : f == 2 ? shift.Feature2 : 0), 2);
        }

        return features;
    }

    public static void WriteRecord(StringBuilder line, DateTimeOffset time, string id, double[] features, double[] scores, string label)
    {
        line.Clear();
        line.Append(CultureInfo.InvariantCulture, $"{{\"time\":\"{time.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ}\",\"model\":\"iris\",\"version\":\"1\",\"identity\":\"sha256:5e1f\",\"source\":\"online\",\"id\":\"{id}\",\"row\":0,");
        line.Append("\"inputs\":{\"Features\":[").AppendJoin(',', features.Select(f => f.ToString("R", CultureInfo.InvariantCulture))).Append("]},");
        line.Append("\"outputs\":{\"Score\":[").AppendJoin(',', scores.Select(s => s.ToString("F4", CultureInfo.InvariantCulture)))
            .Append(CultureInfo.InvariantCulture, $"],\"PredictedLabel\":\"{label}\"}}}}\n");
    }

    private static string Label(Random random, double setosaShare)
    {
        var u = random.NextDouble();
        return u < setosaShare ? Labels[0] : u < setosaShare + ((1 - setosaShare) / 2) ? Labels[1] : Labels[2];
    }

    private static double[] Scores(Random random)
    {
        var raw = new[] { random.NextDouble(), random.NextDouble(), random.NextDouble() };
        var sum = raw.Sum();
        return [.. raw.Select(r => r / sum)];
    }

    /// <summary>A standard normal by Box–Muller.</summary>
    private static double Normal(Random random) => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}

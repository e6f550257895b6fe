using System.Text.Json;

namespace Serverless.Infer.Cli.Monitor;

/// <summary>
/// Accuracy of one string output against known labels (by record id), per time window. Windows are bounded
/// (<see cref="MaxWindows"/>); the labels themselves are held in memory, as large as the file the user gives.
/// </summary>
/// <param name="labelOutput">The output holding the prediction; null: the first string output a record shows.</param>
internal sealed class LabelAccuracy(IReadOnlyDictionary<string, string> labels, string? labelOutput, TimeSpan window)
{
    public const int MaxWindows = 10_000;

    private readonly SortedDictionary<DateTimeOffset, (long Rows, long Correct)> _windows = [];
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    public string? LabelOutput { get; private set; } = labelOutput;

    public int Labels => labels.Count;

    public long Matched { get; private set; }

    public long Correct { get; private set; }

    /// <summary>Records whose id is not in the labels file.</summary>
    public long Unmatched { get; private set; }

    /// <summary>Records without the label output (not captured, or not a string).</summary>
    public long WithoutPrediction { get; private set; }

    public int LabelsUsed => _used.Count;

    public IEnumerable<(DateTimeOffset? Start, long Rows, long Correct)> Windows =>
        _windows.Select(w => (w.Key == DateTimeOffset.MinValue ? (DateTimeOffset?)null : w.Key, w.Value.Rows, w.Value.Correct));

    public void Observe(string? id, DateTimeOffset? time, JsonElement outputs)
    {
        if (id is null || !labels.TryGetValue(id, out var label))
        {
            Unmatched++;
            return;
        }

        if (Prediction(outputs) is not { } predicted)
        {
            WithoutPrediction++;
            return;
        }

        Matched++;
        _used.Add(id);
        var correct = string.Equals(predicted, label, StringComparison.Ordinal);
        Correct += correct ? 1 : 0;
        var start = time is { } t ? new DateTimeOffset(t.UtcTicks - (t.UtcTicks % window.Ticks), TimeSpan.Zero) : DateTimeOffset.MinValue;
        var (rows, right) = _windows.GetValueOrDefault(start);
        if (rows == 0 && _windows.Count >= MaxWindows)
        {
            throw new MonitorException(MonitorExitCodes.Unreadable, $"--window {window} cuts the labelled records into more than {MaxWindows:N0} windows; choose a longer one");
        }

        _windows[start] = (rows + 1, right + (correct ? 1 : 0));
    }

    private string? Prediction(JsonElement outputs)
    {
        if (outputs.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        if (LabelOutput is null)
        {
            foreach (var property in outputs.EnumerateObject())
            {
                if (property.Value.ValueKind == JsonValueKind.String)
                {
                    LabelOutput = property.Name;
                    break;
                }
            }
        }

        return LabelOutput is not null && outputs.TryGetProperty(LabelOutput, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;
    }
}

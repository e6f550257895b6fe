using System.Globalization;
using System.Text.Json;
using Serverless.Inference.Runtime;

namespace Serverless.Inference.Streaming;

/// <summary>An alert rule checked against the loaded model: it reads one element of one output of a record's prediction.</summary>
internal sealed class StreamRule
{
    private readonly StreamAlertRuleManifest _manifest;
    private readonly HashSet<string>? _labels;

    private StreamRule(StreamAlertRuleManifest manifest)
    {
        _manifest = manifest;
        _labels = manifest.In is { } labels ? new HashSet<string>(labels, StringComparer.Ordinal) : null;
    }

    public string Name => _manifest.Name;

    public int Consecutive => _manifest.Consecutive;

    /// <exception cref="InferenceException">Unavailable: the rule names an output the model does not have, or an element past its end.</exception>
    public static StreamRule For(StreamAlertRuleManifest manifest, ModelSignature signature, string model)
    {
        var output = signature.FindOutput(manifest.Output) ?? throw Refused(model,
            $"alert '{manifest.Name}' reads output '{manifest.Output}', which the model does not have (it has: {string.Join(", ", signature.Outputs.Select(o => o.Name))})");
        var perRow = output.Shape.Skip(1).Aggregate(1L, (product, d) => d < 0 || product < 0 ? -1 : product * d);
        if (perRow >= 0 && manifest.Index >= perRow)
        {
            throw Refused(model, $"alert '{manifest.Name}' reads element {manifest.Index} of output '{output.Name}', which has {perRow} per record");
        }

        return new StreamRule(manifest);
    }

    public static InferenceException Refused(string model, string problem) =>
        new(InferenceErrorKind.Unavailable, $"model '{model}': model.json streaming: {problem}");

    /// <param name="prediction">A record's outputs object, or an OIP response with an outputs array.</param>
    public bool Matches(JsonElement prediction)
    {
        if (Element(prediction) is not { } element)
        {
            return false;
        }

        if (_labels is not null)
        {
            var text = element.ValueKind switch
            {
                JsonValueKind.String => element.GetString(),
                JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => element.GetRawText(),
                _ => null,
            };
            return text is not null && _labels.Contains(text);
        }

        if (element.ValueKind != JsonValueKind.Number || !element.TryGetDouble(out var value))
        {
            return false;
        }

        return _manifest.Above is { } above ? value > above : value < _manifest.Below!.Value;
    }

    private JsonElement? Element(JsonElement prediction)
    {
        JsonElement values;
        if (prediction.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        if (prediction.TryGetProperty(_manifest.Output, out var direct))
        {
            values = direct;
        }
        else if (prediction.TryGetProperty("outputs", out var outputs) && outputs.ValueKind == JsonValueKind.Array
            && outputs.EnumerateArray().FirstOrDefault(o => o.ValueKind == JsonValueKind.Object
                && o.TryGetProperty("name", out var name) && name.ValueEquals(_manifest.Output)) is { ValueKind: JsonValueKind.Object } named
            && named.TryGetProperty("data", out var data))
        {
            values = data;
        }
        else
        {
            return null;
        }

        return values.ValueKind == JsonValueKind.Array && _manifest.Index < values.GetArrayLength() ? values[_manifest.Index] : null;
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Name} on {_manifest.Output}[{_manifest.Index}]");
}

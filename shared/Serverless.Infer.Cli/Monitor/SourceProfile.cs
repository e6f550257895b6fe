using System.Text.Json;

namespace Serverless.Infer.Cli.Monitor;

/// <summary>
/// Everything one source (the baseline or the current window) showed, in one pass and bounded memory: a profile per
/// feature (at most <see cref="MaxFeatures"/>), record counts, and the malformed lines with a few examples.
/// </summary>
/// <param name="baseline">For the current side: the baseline, whose categories are always counted here.</param>
internal sealed class SourceProfile(string source, SourceProfile? baseline)
{
    public const int MaxFeatures = 512;
    public const int MaxExamples = 10;

    private readonly Dictionary<FeatureKey, FeatureProfile> _features = [];
    private readonly Dictionary<string, string[]> _elementNames = new(StringComparer.Ordinal);
    private readonly List<string> _examples = [];
    private readonly double[] _vector = new double[4096];

    public string Source => source;

    public IReadOnlyDictionary<FeatureKey, FeatureProfile> Features => _features;

    public long Objects { get; set; }

    public long Records { get; private set; }

    /// <summary>Records another model, version or time than the window asks for.</summary>
    public long Skipped { get; private set; }

    public long Malformed { get; private set; }

    /// <summary>Batch result lines that carry an error or a whole response instead of a row's outputs.</summary>
    public long NotRows { get; private set; }

    public IReadOnlyList<string> MalformedExamples => _examples;

    /// <summary>Values of features past <see cref="MaxFeatures"/>: left out of the comparison.</summary>
    public long IgnoredValues { get; private set; }

    public DateTimeOffset? First { get; private set; }

    public DateTimeOffset? Last { get; private set; }

    public bool Has(FeatureGroup group) => _features.Keys.Any(k => k.Group == group);

    public void CountRecord(DateTimeOffset? time)
    {
        Records++;
        if (time is { } t)
        {
            First = First is { } first && first <= t ? first : t;
            Last = Last is { } last && last >= t ? last : t;
        }
    }

    public void CountSkipped() => Skipped++;

    public void CountNotRow() => NotRows++;

    public void CountMalformed(string where, string reason)
    {
        Malformed++;
        if (_examples.Count < MaxExamples)
        {
            _examples.Add($"{where}: {reason}");
        }
    }

    /// <summary>Each property of a JSON object, flattened as capture flattens a row's slice.</summary>
    public void ObserveObject(FeatureGroup group, JsonElement values)
    {
        foreach (var property in values.EnumerateObject())
        {
            Observe(group, property.Name, property.Value);
        }
    }

    public void Observe(FeatureGroup group, string name, JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Number:
                ObserveNumber(group, name, value.GetDouble());
                break;
            case JsonValueKind.String:
                var text = value.GetString()!;
                ObserveString(group, name, text, text.Length);
                break;
            case JsonValueKind.True or JsonValueKind.False:
                ObserveString(group, name, value.ValueKind == JsonValueKind.True ? "true" : "false", 0);
                break;
            case JsonValueKind.Object when value.TryGetProperty("bytes", out var bytes) && bytes.TryGetInt32(out var length):
                // A BYTES value that is not UTF-8 text: only its length is known.
                ObserveString(group, name, "<binary>", length);
                break;
            case JsonValueKind.Array:
                ObserveArray(group, name, value);
                break;
            default:
                // null: the value is missing in this row.
                break;
        }
    }

    public void ObserveNumber(FeatureGroup group, string name, double value)
    {
        switch (Profile(group, name, FeatureKind.Numeric))
        {
            case NumericProfile numeric:
                numeric.Add(value);
                break;
            case { } other:
                other.CountMismatch();
                break;
        }
    }

    public void ObserveString(FeatureGroup group, string name, string value, int length)
    {
        switch (Profile(group, name, FeatureKind.Category))
        {
            case StringProfile strings:
                strings.Add(value, length);
                break;
            case { } other:
                other.CountMismatch();
                break;
        }
    }

    private void ObserveArray(FeatureGroup group, string name, JsonElement array)
    {
        var length = array.GetArrayLength();
        if (length >= FeatureProfile.EmbeddingMinLength && array[0].ValueKind == JsonValueKind.Number)
        {
            ObserveEmbedding(group, name, array, length);
            return;
        }

        var names = ElementNames(name, length);
        var i = 0;
        foreach (var element in array.EnumerateArray())
        {
            if (element.ValueKind is JsonValueKind.Array or JsonValueKind.Object)
            {
                // Capture flattens a row's slice: nested arrays are not its shape.
                Profile(group, names[i], FeatureKind.Numeric)?.CountMismatch();
            }
            else
            {
                Observe(group, names[i], element);
            }

            i++;
        }
    }

    private void ObserveEmbedding(FeatureGroup group, string name, JsonElement array, int length)
    {
        var profile = Profile(group, name, FeatureKind.Embedding, length);
        if (profile is not EmbeddingProfile embedding || length > _vector.Length)
        {
            profile?.CountMismatch();
            return;
        }

        var i = 0;
        foreach (var element in array.EnumerateArray())
        {
            if (!element.TryGetDouble(out _vector[i++]))
            {
                embedding.CountMismatch();
                return;
            }
        }

        embedding.Add(_vector.AsSpan(0, length));
    }

    private string[] ElementNames(string name, int length)
    {
        if (!_elementNames.TryGetValue(name, out var names) || names.Length < length)
        {
            names = [.. Enumerable.Range(0, Math.Max(length, names?.Length ?? 0)).Select(i => $"{name}[{i}]")];
            _elementNames[name] = names;
        }

        return names;
    }

    /// <summary>The feature's profile, made on its first value with that value's kind; null past <see cref="MaxFeatures"/>.</summary>
    private FeatureProfile? Profile(FeatureGroup group, string name, FeatureKind kind, int length = 0)
    {
        var key = new FeatureKey(group, name);
        if (_features.TryGetValue(key, out var profile))
        {
            return profile;
        }

        if (_features.Count >= MaxFeatures)
        {
            IgnoredValues++;
            return null;
        }

        profile = kind switch
        {
            FeatureKind.Numeric => new NumericProfile(),
            FeatureKind.Embedding => new EmbeddingProfile(length),
            _ => new StringProfile(baseline?.Features.GetValueOrDefault(key) is StringProfile known ? known.Categories.Keys.ToHashSet(StringComparer.Ordinal) : null),
        };
        _features.Add(key, profile);
        return profile;
    }
}

namespace Serverless.Infer.Cli.Monitor;

/// <summary>
/// Which features the two sides share. Inputs are compared when both sides have inputs, outputs when both have outputs
/// (training data has only inputs, a batch result only outputs); within a group the columns and their kinds must match.
/// </summary>
internal static class SchemaCheck
{
    private const int NamesShown = 20;

    public static (IReadOnlyList<FeatureKey> Compared, IReadOnlyList<string> NotCompared) Match(SourceProfile baseline, SourceProfile current)
    {
        var compared = new List<FeatureKey>();
        var notCompared = new List<string>();
        var problems = new List<string>();
        foreach (var group in new[] { FeatureGroup.Input, FeatureGroup.Output })
        {
            var groupName = group == FeatureGroup.Input ? "inputs" : "outputs";
            var (inBaseline, inCurrent) = (baseline.Has(group), current.Has(group));
            if (inBaseline != inCurrent)
            {
                notCompared.Add($"{groupName}: only the {(inBaseline ? "baseline" : "current window")} has them");
                continue;
            }

            var baselineKeys = baseline.Features.Keys.Where(k => k.Group == group).ToHashSet();
            var currentKeys = current.Features.Keys.Where(k => k.Group == group).ToHashSet();
            Describe(problems, "missing in the current window", baselineKeys.Except(currentKeys));
            Describe(problems, "missing in the baseline", currentKeys.Except(baselineKeys));
            Describe(problems, "of another type on each side", baselineKeys.Intersect(currentKeys).Where(k => baseline.Features[k].GetType() != current.Features[k].GetType()));
            compared.AddRange(baselineKeys.Intersect(currentKeys).Order(Comparer<FeatureKey>.Create(Compare)));
        }

        if (problems.Count > 0)
        {
            throw new MonitorException(MonitorExitCodes.SchemaMismatch, "the baseline and the current window have different columns: " + string.Join("; ", problems));
        }

        return compared.Count > 0
            ? (compared, notCompared)
            : throw new MonitorException(MonitorExitCodes.SchemaMismatch, "the baseline and the current window share no group of columns to compare: " + string.Join("; ", notCompared));
    }

    private static void Describe(List<string> problems, string what, IEnumerable<FeatureKey> keys)
    {
        var names = keys.Order(Comparer<FeatureKey>.Create(Compare)).Select(k => k.ToString()).ToList();
        if (names.Count > 0)
        {
            problems.Add($"{what}: {string.Join(", ", names.Take(NamesShown))}{(names.Count > NamesShown ? $" and {names.Count - NamesShown} more" : "")}");
        }
    }

    /// <summary>Group, then name with element indexes in number order (<c>x[2]</c> before <c>x[10]</c>).</summary>
    private static int Compare(FeatureKey a, FeatureKey b)
    {
        var byGroup = a.Group.CompareTo(b.Group);
        if (byGroup != 0)
        {
            return byGroup;
        }

        var (aBase, aIndex) = Split(a.Name);
        var (bBase, bIndex) = Split(b.Name);
        var byBase = string.CompareOrdinal(aBase, bBase);
        return byBase != 0 ? byBase : aIndex.CompareTo(bIndex);
    }

    private static (string Base, int Index) Split(string name)
    {
        var open = name.LastIndexOf('[');
        return open > 0 && name.EndsWith(']') && int.TryParse(name.AsSpan(open + 1, name.Length - open - 2), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index)
            ? (name[..open], index)
            : (name, -1);
    }
}

namespace Serverless.Functions.Aws.Tests.Support;

/// <summary>
/// Checks a document against CloudWatch's Embedded Metric Format specification: <c>_aws</c> with an epoch-millisecond
/// <c>Timestamp</c> and <c>CloudWatchMetrics</c> directives ({Namespace, Dimensions, Metrics [{Name, Unit}]}), at most
/// 100 metrics a directive and 30 dimensions a set; every dimension a root string member; every metric a root member
/// holding a number, or a histogram (a value array: Values and Counts of equal length, at most 100; and/or a statistic
/// set: Max, Min, Count, Sum).
/// </summary>
internal static class EmfSpecification
{
    private static readonly HashSet<string> Units =
    [
        "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes", "Bits", "Kilobits",
        "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second", "Kilobytes/Second", "Megabytes/Second",
        "Gigabytes/Second", "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second",
        "Terabits/Second", "Count/Second", "None",
    ];

    public static bool IsEmf(JsonElement document) => document.ValueKind == JsonValueKind.Object && document.TryGetProperty("_aws", out _);

    /// <summary>Asserts the document follows the specification; returns the metric names its directives declare.</summary>
    public static IReadOnlyList<string> AssertValid(JsonElement document, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        var metadata = document.GetProperty("_aws");
        Assert.Equal(JsonValueKind.Object, metadata.ValueKind);
        var timestamp = metadata.GetProperty("Timestamp");
        Assert.Equal(JsonValueKind.Number, timestamp.ValueKind);
        Assert.True(timestamp.TryGetInt64(out var epochMs), "Timestamp must be whole epoch milliseconds");
        Assert.InRange(epochMs, notBefore.ToUnixTimeMilliseconds(), notAfter.ToUnixTimeMilliseconds());

        var directives = metadata.GetProperty("CloudWatchMetrics");
        Assert.Equal(JsonValueKind.Array, directives.ValueKind);
        Assert.NotEqual(0, directives.GetArrayLength());
        var names = new List<string>();
        foreach (var directive in directives.EnumerateArray())
        {
            Assert.False(string.IsNullOrWhiteSpace(directive.GetProperty("Namespace").GetString()));
            var dimensionSets = directive.GetProperty("Dimensions");
            Assert.Equal(JsonValueKind.Array, dimensionSets.ValueKind);
            foreach (var set in dimensionSets.EnumerateArray())
            {
                Assert.Equal(JsonValueKind.Array, set.ValueKind);
                Assert.InRange(set.GetArrayLength(), 0, 30);
                foreach (var key in set.EnumerateArray())
                {
                    var member = document.GetProperty(key.GetString()!);
                    Assert.Equal(JsonValueKind.String, member.ValueKind);
                }
            }

            var metrics = directive.GetProperty("Metrics");
            Assert.InRange(metrics.GetArrayLength(), 1, 100);
            foreach (var metric in metrics.EnumerateArray())
            {
                var name = metric.GetProperty("Name").GetString()!;
                Assert.InRange(name.Length, 1, 255);
                if (metric.TryGetProperty("Unit", out var unit))
                {
                    Assert.Contains(unit.GetString()!, Units);
                }

                AssertValue(name, document.GetProperty(name));
                names.Add(name);
            }
        }

        return names;
    }

    private static void AssertValue(string name, JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Number)
        {
            return;
        }

        Assert.True(value.ValueKind == JsonValueKind.Object, $"{name} is neither a number nor a histogram: {value}");
        var hasArray = value.TryGetProperty("Values", out var values);
        if (hasArray)
        {
            var counts = value.GetProperty("Counts");
            Assert.InRange(values.GetArrayLength(), 1, 100);
            Assert.Equal(values.GetArrayLength(), counts.GetArrayLength());
            Assert.All(values.EnumerateArray(), v => Assert.Equal(JsonValueKind.Number, v.ValueKind));
            Assert.All(counts.EnumerateArray(), c => Assert.True(c.GetDouble() > 0));
        }

        if (value.TryGetProperty("Count", out var count))
        {
            foreach (var statistic in new[] { "Max", "Min", "Sum" })
            {
                Assert.Equal(JsonValueKind.Number, value.GetProperty(statistic).ValueKind);
            }

            Assert.True(value.GetProperty("Min").GetDouble() <= value.GetProperty("Max").GetDouble());
            if (hasArray)
            {
                Assert.Equal(count.GetDouble(), value.GetProperty("Counts").EnumerateArray().Sum(c => c.GetDouble()));
            }
        }
        else
        {
            Assert.True(hasArray, $"{name} has neither a value array nor a statistic set");
        }
    }
}

using System.Globalization;

namespace Serverless.Inference.Hosting;

/// <summary>How much memory this instance may use, and where that figure came from.</summary>
public sealed record InstanceMemory(long Bytes, string Source)
{
    /// <summary>Azure app setting (Flex Consumption's instance memory, set by the templates), also read locally.</summary>
    internal const string SettingVariable = "Inference__InstanceMemoryMB";

    /// <summary>Set by Lambda to the function's configured memory.</summary>
    internal const string LambdaVariable = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE";

    internal static InstanceMemory Detect() => Detect(Environment.GetEnvironmentVariable);

    /// <summary>
    /// The setting first, then Lambda's own variable, then what the runtime sees: the container's cgroup limit when
    /// there is one, else the machine's memory.
    /// </summary>
    internal static InstanceMemory Detect(Func<string, string?> variable)
    {
        ArgumentNullException.ThrowIfNull(variable);
        foreach (var name in new[] { SettingVariable, LambdaVariable })
        {
            if (variable(name) is { Length: > 0 } text)
            {
                return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var megabytes) && megabytes is >= 128 and <= 1 << 24
                    ? new InstanceMemory(megabytes << 20, name)
                    : throw new InvalidOperationException($"{name} must be the instance memory in MB (128 or more), not '{text}'");
            }
        }

        return new InstanceMemory(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, "the container limit or machine memory");
    }
}

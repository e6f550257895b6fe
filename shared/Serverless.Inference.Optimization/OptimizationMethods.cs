namespace Serverless.Inference.Optimization;

/// <summary>The names methods have on the command line and in a variant's record.</summary>
internal static class OptimizationMethods
{
    public static readonly IReadOnlyList<string> Names = ["int8-dynamic", "int8-static", "fp16"];

    public static string Name(this OptimizationMethod method) => method switch
    {
        OptimizationMethod.Int8Dynamic => "int8-dynamic",
        OptimizationMethod.Int8Static => "int8-static",
        OptimizationMethod.Fp16 => "fp16",
        _ => throw new ArgumentOutOfRangeException(nameof(method), method, null),
    };

    public static bool TryParse(string? name, out OptimizationMethod method)
    {
        foreach (var candidate in Enum.GetValues<OptimizationMethod>())
        {
            if (string.Equals(candidate.Name(), name, StringComparison.Ordinal))
            {
                method = candidate;
                return true;
            }
        }

        method = default;
        return false;
    }
}

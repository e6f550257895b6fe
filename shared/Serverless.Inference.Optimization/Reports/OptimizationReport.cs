using System.Text.Json;
using System.Text.Json.Serialization;

namespace Serverless.Inference.Optimization.Reports;

/// <summary>What a variant costs in accuracy and what it saves, as printed and written beside it.</summary>
/// <param name="RewrittenNodes">How many of the source's nodes the rewrite replaced or wrapped.</param>
/// <param name="Published">Whether the variant became a version folder (false: a threshold was missed).</param>
/// <param name="Alias">The alias set to the variant, if any.</param>
/// <param name="Memory">What the peak-memory figures measure.</param>
internal sealed record OptimizationReport(
    string Model,
    string SourceVersion,
    string Version,
    string Method,
    IReadOnlyDictionary<string, string> Settings,
    int RewrittenNodes,
    ReportInputs Inputs,
    IReadOnlyList<OutputDifference> Outputs,
    ModelCost Source,
    ModelCost Variant,
    ReportGates Gates,
    bool Published,
    string? Alias,
    string Onnxruntime,
    int ProcessorCount,
    string Memory,
    DateTimeOffset Created)
{
    public const string FileName = "optimization-report.json";

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, ReportJsonContext.Default.OptimizationReport);
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    WriteIndented = true,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(OptimizationReport))]
internal sealed partial class ReportJsonContext : JsonSerializerContext;

namespace Serverless.Inference.Optimization.Variants;

/// <summary>What <c>infer optimize</c> was asked for.</summary>
/// <param name="Repository">The model repository folder.</param>
/// <param name="Version">The source: a version folder or alias; null for the model's default version.</param>
/// <param name="Method">A name in <see cref="OptimizationMethods.Names"/>.</param>
/// <param name="CalibrationFile">JSONL rows for int8-static's activation ranges; also the report's rows when no samples are given.</param>
/// <param name="SamplesFile">JSONL rows in the model's request form for the report.</param>
/// <param name="PublishAlias">An alias set to the new version, in the same write as its record.</param>
/// <param name="MinCosine">The variant is not published when an output's mean cosine similarity is lower.</param>
/// <param name="MinAgreement">The variant is not published when an output's top-1 agreement is lower.</param>
internal sealed record OptimizeRequest(
    string Repository,
    string Model,
    string? Version,
    string Method,
    string? CalibrationFile = null,
    string? SamplesFile = null,
    string? PublishAlias = null,
    double? MinCosine = null,
    double? MinAgreement = null);

namespace Serverless.Inference.Repository;

/// <summary>
/// One entry of the <c>variants</c> section of <c>model.json</c>: where a version made by <c>infer optimize</c> came
/// from. Hosts do not act on it; it is the record a reader (or an audit) needs to trust the version.
/// </summary>
/// <param name="SourceVersion">The version folder the variant was made from.</param>
/// <param name="SourceSha256">The lower-case hex SHA-256 of the source's model.onnx.</param>
/// <param name="Method">How it was made, e.g. "int8-dynamic".</param>
/// <param name="Settings">What the rewrite chose (weight type, per-channel, operators kept in FP32...).</param>
/// <param name="Created">When the variant was made.</param>
/// <param name="Onnxruntime">The ONNX Runtime version the variant was checked with.</param>
internal sealed record VariantManifest(
    string SourceVersion,
    string SourceSha256,
    string Method,
    IReadOnlyDictionary<string, string>? Settings = null,
    DateTimeOffset? Created = null,
    string? Onnxruntime = null)
{
    internal string? Problem()
    {
        if (!ModelNames.IsValid(SourceVersion))
        {
            return $"source_version must match {ModelNames.Rule}";
        }

        if (SourceSha256 is not { Length: 64 } || !SourceSha256.All(char.IsAsciiHexDigitLower))
        {
            return "source_sha256 must be 64 lower-case hex digits";
        }

        return ModelNames.IsValid(Method) ? null : $"method must match {ModelNames.Rule}";
    }
}

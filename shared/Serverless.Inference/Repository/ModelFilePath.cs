namespace Serverless.Inference.Repository;

/// <summary>A validated path inside a model repository: model, optional version, file name.</summary>
public sealed record ModelFilePath
{
    public const string ManifestFileName = "model.json";
    public const string ModelFileName = "model.onnx";

    public ModelFilePath(string model, string? version, string fileName)
    {
        Model = ModelNames.Require(model, "model name");
        Version = version is null ? null : ModelNames.Require(version, "model version");
        FileName = ModelNames.Require(fileName, "file name");
    }

    public string Model { get; }

    public string? Version { get; }

    public string FileName { get; }

    public static ModelFilePath Manifest(string model) => new(model, null, ManifestFileName);

    public static ModelFilePath Onnx(string model, string version) => new(model, version, ModelFileName);

    /// <summary>The path relative to the repository root, with forward slashes.</summary>
    public override string ToString() => Version is null ? $"{Model}/{FileName}" : $"{Model}/{Version}/{FileName}";
}

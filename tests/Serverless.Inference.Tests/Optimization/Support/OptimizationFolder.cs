using System.Globalization;
using System.Text;
using Onnx;
using Serverless.Inference.Optimization;
using Serverless.Inference.Optimization.Onnx;
using Serverless.Inference.Repository;

namespace Serverless.Inference.Tests.Optimization.Support;

/// <summary>A temp version folder holding a model to rewrite, its calibration file, and the request over them.</summary>
internal sealed class OptimizationFolder : IDisposable
{
    public OptimizationFolder(ModelProto model, string manifestJson = "{}")
    {
        Path = Directory.CreateTempSubdirectory("optimization-tests-").FullName;
        Model = model;
        OnnxModelFile.Save(model, File(ModelFilePath.ModelFileName));
        Manifest = ModelManifest.Parse(Encoding.UTF8.GetBytes(manifestJson), ModelFilePath.ManifestFileName);
    }

    public string Path { get; }

    public ModelProto Model { get; }

    public ModelManifest Manifest { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Writes a calibration file of these lines and returns its path.</summary>
    public string Calibration(IEnumerable<string> lines, string name = "calibration.jsonl")
    {
        var path = File(name);
        System.IO.File.WriteAllText(path, string.Join('\n', lines) + "\n");
        return path;
    }

    public RewriteRequest Request(string? calibrationFile, RewriteOptions? options = null) =>
        new(Model, Path, Manifest, calibrationFile, options ?? RewriteOptions.Default);

    /// <summary>A JSON line giving one input as a flat array.</summary>
    public static string Row(string input, IEnumerable<float> values) =>
        $$"""{"{{input}}":[{{string.Join(',', values.Select(v => v.ToString("R", CultureInfo.InvariantCulture)))}}]}""";

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a leftover temp folder must not fail a test.
        }
    }
}

using System.Text.Json.Nodes;

namespace Serverless.Inference.Tests.Support;

/// <summary>
/// A model repository in a fresh temp folder: <c>&lt;name&gt;/model.json</c> and <c>&lt;name&gt;/&lt;version&gt;/model.onnx</c>
/// written from bytes, plus copies of the sample models. The folder is deleted on dispose.
/// </summary>
public sealed class TempModelRepository : IDisposable
{
    public TempModelRepository()
    {
        Root = Path.Combine(Path.GetTempPath(), "oip-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Root);
    }

    /// <summary>The sample model repository copied into the test output (<c>iris</c>, <c>resnet18</c>).</summary>
    public static string SampleModels => Path.Combine(AppContext.BaseDirectory, "models");

    public string Root { get; }

    /// <summary>Writes <c>&lt;name&gt;/&lt;version&gt;/model.onnx</c>, and the manifest (an empty one unless given and none exists yet).</summary>
    public TempModelRepository Add(string name, byte[] onnx, string version = "1", string? manifest = null)
    {
        if (manifest is not null || !File.Exists(Path.Combine(Root, name, "model.json")))
        {
            Manifest(name, manifest ?? "{}");
        }

        Directory.CreateDirectory(Path.Combine(Root, name, version));
        File.WriteAllBytes(Path.Combine(Root, name, version, "model.onnx"), onnx);
        return this;
    }

    /// <summary>Writes (or overwrites) <c>&lt;name&gt;/model.json</c>.</summary>
    public TempModelRepository Manifest(string name, string json)
    {
        Directory.CreateDirectory(Path.Combine(Root, name));
        File.WriteAllText(Path.Combine(Root, name, "model.json"), json);
        return this;
    }

    /// <summary>Copies a sample model (manifest and versions) from the test output's <c>models/</c> folder.</summary>
    /// <param name="asName">The copy's name; the sample's own when null.</param>
    /// <param name="manifestChanges">A JSON object whose members replace the manifest's members of the same name.</param>
    public TempModelRepository CopySample(string name, string? asName = null, string? manifestChanges = null)
    {
        var source = Path.Combine(SampleModels, name);
        var copy = asName ?? name;
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(Root, copy, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        if (manifestChanges is not null)
        {
            var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(source, "model.json")))!.AsObject();
            foreach (var (member, value) in JsonNode.Parse(manifestChanges)!.AsObject())
            {
                manifest[member] = value?.DeepClone();
            }

            Manifest(copy, manifest.ToJsonString());
        }

        return this;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a leftover temp folder must not fail a test.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

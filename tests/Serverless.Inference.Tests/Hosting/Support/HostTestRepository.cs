using Serverless.Inference.Hosting;

namespace Serverless.Inference.Tests.Hosting.Support;

/// <summary>
/// A model repository in a fresh temp folder (<c>&lt;name&gt;/model.json</c>, <c>&lt;name&gt;/&lt;version&gt;/model.onnx</c>)
/// next to an empty artifact cache folder; both are deleted on dispose.
/// </summary>
internal sealed class HostTestRepository : IDisposable
{
    private readonly string _folder;

    public HostTestRepository()
    {
        _folder = Path.Combine(Path.GetTempPath(), "host-tests-" + Guid.NewGuid().ToString("N"));
        Root = Path.Combine(_folder, "models");
        CacheDirectory = Path.Combine(_folder, "cache");
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    public string CacheDirectory { get; }

    /// <summary>Writes (or overwrites) <c>&lt;model&gt;/model.json</c>.</summary>
    public HostTestRepository Manifest(string model, string json)
    {
        Directory.CreateDirectory(Path.Combine(Root, model));
        File.WriteAllText(ManifestPath(model), json);
        return this;
    }

    /// <summary>Writes <c>&lt;model&gt;/&lt;version&gt;/model.onnx</c>, and an empty manifest if the model has none yet.</summary>
    public HostTestRepository Model(string model, string version, byte[] onnx)
    {
        if (!File.Exists(ManifestPath(model)))
        {
            Manifest(model, "{}");
        }

        Directory.CreateDirectory(Path.Combine(Root, model, version));
        File.WriteAllBytes(ModelPath(model, version), onnx);
        return this;
    }

    public string ManifestPath(string model) => Path.Combine(Root, model, "model.json");

    public string ModelPath(string model, string version) => Path.Combine(Root, model, version, "model.onnx");

    /// <summary>Host options over this repository's cache folder, one intra-op thread per model.</summary>
    public ModelHostOptions Options() => new() { CacheDirectory = CacheDirectory, DefaultIntraOpThreads = 1 };

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
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

using Microsoft.Extensions.Time.Testing;
using Serverless.Inference.Artifacts;
using Serverless.Inference.Hosting;
using Serverless.Inference.Repository;
using Serverless.Inference.Runtime;
using Serverless.Inference.Tests.Hosting.Support;

namespace Serverless.Inference.Tests.Artifacts;

/// <summary>An optimized graph is only loaded by the runtime version and settings that saved it.</summary>
public sealed class OptimizedGraphCacheKeyTests : IDisposable
{
    private readonly HostTestRepository _repository = new();

    public void Dispose() => _repository.Dispose();

    [Fact]
    public void OptimizedGraphIdentity_DependsOnTheRuntimeVersion()
    {
        var current = OnnxModelFactory.OptimizedGraphIdentity("sha256:aaaa");

        Assert.Equal(current, OnnxModelFactory.OptimizedGraphIdentity("sha256:aaaa"));
        Assert.NotEqual(current, OnnxModelFactory.OptimizedGraphIdentity("sha256:aaaa", "1.20.0"));
        Assert.NotEqual(current, OnnxModelFactory.OptimizedGraphIdentity("sha256:bbbb"));
        Assert.Contains("onnxruntime 1.31.1", current, StringComparison.Ordinal);
        Assert.Contains(nameof(Microsoft.ML.OnnxRuntime.GraphOptimizationLevel.ORT_ENABLE_ALL), current, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AcquireAsync_GraphSavedByAnotherRuntimeVersion_IsNotLoaded()
    {
        _repository.Model("m", "1", OnnxTestModels.Identity(OnnxElementType.Float)).Manifest("m", """{ "optimized_graph_cache": true }""");
        string identity;
        using (var host = Host())
        using (var lease = await host.AcquireAsync("m", null, CancellationToken.None))
        {
            identity = lease.Identity;
        }

        // A graph that doubles, where another runtime version, or the key without any version, would look for it.
        var derived = Path.Combine(_repository.CacheDirectory, "derived");
        Array.ForEach(Directory.GetFiles(derived), File.Delete);
        var cache = new ArtifactCache(_repository.CacheDirectory);
        var doubler = OnnxTestModels.Doubler(OnnxElementType.Float);
        File.WriteAllBytes(cache.GetDerivedPath(OnnxModelFactory.OptimizedGraphIdentity(identity, "1.20.0"), "optimized.onnx"), doubler);
        File.WriteAllBytes(cache.GetDerivedPath(identity, "optimized.onnx"), doubler);

        using (var host = Host())
        using (var lease = await host.AcquireAsync("m", null, CancellationToken.None))
        {
            Assert.False(lease.LoadReport.OptimizedGraphFromCache);
            Assert.Equal([1f, 2f], ModelRunner.RunFloats(lease.Model, "x", [2], 1f, 2f));
        }

        Assert.Equal(3, Directory.GetFiles(derived).Length);
    }

    private ModelHost Host() =>
        new(new LocalFolderModelStore(_repository.Root), _repository.Options(), new FakeTimeProvider());
}

using Microsoft.Extensions.Time.Testing;
using Serverless.Inference.Hosting;
using Serverless.Inference.Repository;
using Serverless.Inference.Runtime;
using Serverless.Inference.Tests.Hosting.Support;

namespace Serverless.Inference.Tests.Hosting;

public sealed class ModelHostOptimizedGraphTests : IDisposable
{
    private readonly HostTestRepository _repository = new();

    public void Dispose() => _repository.Dispose();

    private string DerivedFolder => Path.Combine(_repository.CacheDirectory, "derived");

    [Fact]
    public async Task AcquireAsync_OptimizedGraphCacheOn_SavesTheGraphAndTheNextHostLoadsItWithTheSameOutputs()
    {
        _repository.Model("add", "1", OnnxTestModels.AddFloat()).Manifest("add", """{ "optimized_graph_cache": true }""");

        float[][] first;
        using (var host = Host())
        using (var lease = await host.AcquireAsync("add", null, CancellationToken.None))
        {
            Assert.False(lease.LoadReport.OptimizedGraphFromCache);
            first = Run(lease.Model);
        }

        var saved = Assert.Single(Directory.GetFiles(DerivedFolder));
        Assert.EndsWith("-optimized.onnx", saved, StringComparison.Ordinal);
        Assert.True(new FileInfo(saved).Length > 0);

        using (var host = Host())
        using (var lease = await host.AcquireAsync("add", null, CancellationToken.None))
        {
            Assert.True(lease.LoadReport.OptimizedGraphFromCache);
            Assert.Equal(first, Run(lease.Model));
        }

        Assert.Equal([saved], Directory.GetFiles(DerivedFolder));
    }

    [Fact]
    public async Task AcquireAsync_OptimizedGraphCacheOff_WritesNothingToTheCache()
    {
        _repository.Model("add", "1", OnnxTestModels.AddFloat());
        using var host = Host();

        using var lease = await host.AcquireAsync("add", null, CancellationToken.None);

        Assert.False(lease.LoadReport.OptimizedGraphFromCache);
        Assert.False(Directory.Exists(DerivedFolder) && Directory.EnumerateFileSystemEntries(DerivedFolder).Any());
    }

    [Fact]
    public async Task AcquireAsync_ModelChangedAfterCaching_DoesNotReuseTheOldOptimizedGraph()
    {
        _repository.Model("m", "1", OnnxTestModels.Identity(OnnxElementType.Float)).Manifest("m", """{ "optimized_graph_cache": true }""");
        using (var host = Host())
        using (await host.AcquireAsync("m", null, CancellationToken.None))
        {
        }

        _repository.Model("m", "1", OnnxTestModels.Doubler(OnnxElementType.Float));
        using (var host = Host())
        using (var lease = await host.AcquireAsync("m", null, CancellationToken.None))
        {
            Assert.False(lease.LoadReport.OptimizedGraphFromCache);
            Assert.Equal([2f, 4f], ModelRunner.RunFloats(lease.Model, "x", [1, 2], 1f, 2f));
        }

        Assert.Equal(2, Directory.GetFiles(DerivedFolder).Length);
    }

    private ModelHost Host() =>
        new(new LocalFolderModelStore(_repository.Root), _repository.Options(), new FakeTimeProvider());

    private static float[][] Run(OnnxModel model)
    {
        using var a = ModelRunner.Floats("a", [2, 3], 1f, 2f, 3f, 4f, 5f, 6f);
        using var b = ModelRunner.Floats("b", [2, 3], 0.5f, -1f, 2f, 10f, 0f, -3f);
        using var outputs = model.Run([a, b], null, CancellationToken.None);
        Assert.Equal(["sum", "product"], outputs.Tensors.Select(t => t.Name));
        return [.. outputs.Tensors.Select(t => t.AsSpan<float>().ToArray())];
    }
}

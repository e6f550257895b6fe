using Microsoft.Extensions.Time.Testing;
using Serverless.Inference.Hosting;
using Serverless.Inference.Repository;
using Serverless.Inference.Tests.Hosting.Support;

namespace Serverless.Inference.Tests.Hosting;

public sealed class ModelHostRemoteStoreTests : IDisposable
{
    private readonly HostTestRepository _repository = new();

    public void Dispose() => _repository.Dispose();

    [Fact]
    public async Task AcquireAsync_RemoteStore_LoadsThroughTheArtifactCacheAndDownloadsOnce()
    {
        var onnx = OnnxTestModels.Identity(OnnxElementType.Float);
        var store = new InMemoryModelStore();
        store.PutManifest("m", """{ "max_batch_size": 8 }""", "etag-manifest-1");
        store.PutModel("m", "1", onnx, "etag-model-1");
        var modelFile = ModelFilePath.Onnx("m", "1");

        using (var host = new ModelHost(store, _repository.Options(), new FakeTimeProvider()))
        using (var lease = await host.AcquireAsync("m", null, CancellationToken.None))
        {
            Assert.Equal([1f, 2f, 3f], ModelRunner.RunIdentity(lease.Model));
            Assert.Equal(8, lease.Manifest.MaxBatchSize);
        }

        var cached = Assert.Single(Directory.GetFiles(_repository.CacheDirectory, "model.onnx", SearchOption.AllDirectories));
        Assert.Equal(onnx, File.ReadAllBytes(cached));
        Assert.Equal(1, store.OpenCount(modelFile));

        // A second process over the same cache folder finds the file there.
        using (var host = new ModelHost(store, _repository.Options(), new FakeTimeProvider()))
        using (var lease = await host.AcquireAsync("m", null, CancellationToken.None))
        {
            Assert.Equal([1f, 2f, 3f], ModelRunner.RunIdentity(lease.Model));
        }

        Assert.Equal(1, store.OpenCount(modelFile));
    }

    [Fact]
    public async Task AcquireAsync_RemoteFileWithNewIdentity_DownloadsAndLoadsTheNewModelAfterRefresh()
    {
        var store = new InMemoryModelStore();
        store.PutManifest("m", "{}", "etag-manifest-1");
        store.PutModel("m", "1", OnnxTestModels.Identity(OnnxElementType.Float), "etag-model-1");
        var time = new FakeTimeProvider();
        var options = _repository.Options();
        using var host = new ModelHost(store, options, time);
        using (await host.AcquireAsync("m", null, CancellationToken.None))
        {
        }

        store.PutModel("m", "1", OnnxTestModels.Doubler(OnnxElementType.Float), "etag-model-2");
        time.Advance(options.RefreshInterval + TimeSpan.FromSeconds(1));
        using (await host.AcquireAsync("m", null, CancellationToken.None))
        {
        }

        await host.WhenBackgroundIdleAsync().WaitAsync(ModelRunner.HangGuard);
        using var lease = await host.AcquireAsync("m", null, CancellationToken.None);

        Assert.Equal([2f, 4f], ModelRunner.RunFloats(lease.Model, "x", [1, 2], 1f, 2f));
        Assert.Equal(2, store.OpenCount(ModelFilePath.Onnx("m", "1")));
        Assert.Equal(2, Directory.GetFiles(_repository.CacheDirectory, "model.onnx", SearchOption.AllDirectories).Length);
    }
}

using Microsoft.Extensions.Time.Testing;
using Serverless.Inference.Hosting;
using Serverless.Inference.Repository;
using Serverless.Inference.Tests.Hosting.Support;

namespace Serverless.Inference.Tests.Hosting;

public sealed class ModelHostLoadingTests : IDisposable
{
    private static readonly TimeSpan Refresh = TimeSpan.FromSeconds(30);

    private readonly HostTestRepository _repository = new();
    private readonly FakeTimeProvider _time = new();

    public void Dispose() => _repository.Dispose();

    [Fact]
    public async Task AcquireAsync_ConcurrentFirstCalls_ShareOneLoad()
    {
        const int Callers = 32;
        _repository.Model("m", "1", OnnxTestModels.Identity(OnnxElementType.Float));
        var store = new CountingModelStore(_repository.Root);
        using var host = new ModelHost(store, Options(), _time);

        // Know the model first (no load), so each AcquireAsync runs synchronously up to joining a load.
        await host.ListAsync(CancellationToken.None);
        var modelFile = ModelFilePath.Onnx("m", "1");
        var allJoined = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        store.BeforeStat = path => path == modelFile ? allJoined.Task : Task.CompletedTask;

        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var joined = 0;
        var callers = Enumerable.Range(0, Callers).Select(_ => Task.Run(async () =>
        {
            await go.Task;
            var acquire = host.AcquireAsync("m", null, CancellationToken.None);
            if (Interlocked.Increment(ref joined) == Callers)
            {
                allJoined.TrySetResult();
            }

            return await acquire;
        })).ToArray();
        go.SetResult();

        var leases = await Task.WhenAll(callers).WaitAsync(ModelRunner.HangGuard);
        try
        {
            Assert.Equal(1, host.SessionsCreated);
            Assert.Equal(1, store.Count("stat m/1/model.onnx"));
            Assert.All(leases, lease => Assert.Same(leases[0].Model, lease.Model));
            Assert.Single(leases.Select(lease => lease.Identity).Distinct());
            Assert.Equal([1f, 2f, 3f], ModelRunner.RunIdentity(leases[^1].Model));
        }
        finally
        {
            Array.ForEach(leases, lease => lease.Dispose());
        }
    }

    [Fact]
    public async Task AcquireAsync_WarmWithinRefreshInterval_DoesNotTouchTheStore()
    {
        _repository.Model("m", "1", OnnxTestModels.Identity(OnnxElementType.Float));
        var store = new CountingModelStore(_repository.Root);
        using var host = new ModelHost(store, Options(), _time);
        using (await host.AcquireAsync("m", null, CancellationToken.None))
        {
        }

        store.ClearCalls();
        _time.Advance(Refresh - TimeSpan.FromSeconds(1));
        using var byDefault = await host.AcquireAsync("m", null, CancellationToken.None);
        using var byVersion = await host.AcquireAsync("m", "1", CancellationToken.None);

        Assert.Empty(store.Calls);
        Assert.Equal(1, host.SessionsCreated);
        Assert.Same(byDefault.Model, byVersion.Model);
    }

    [Fact]
    public async Task AcquireAsync_AfterRefreshIntervalWithUnchangedFiles_RevalidatesWithoutReloading()
    {
        _repository.Model("m", "1", OnnxTestModels.Identity(OnnxElementType.Float));
        var store = new CountingModelStore(_repository.Root);
        using var host = new ModelHost(store, Options(), _time);
        using var first = await host.AcquireAsync("m", null, CancellationToken.None);

        store.ClearCalls();
        _time.Advance(Refresh + TimeSpan.FromSeconds(1));
        await RefreshAsync(host);
        using var second = await host.AcquireAsync("m", null, CancellationToken.None);

        Assert.Equal(1, store.Count("stat m/1/model.onnx"));
        Assert.Equal(1, host.SessionsCreated);
        Assert.Same(first.Model, second.Model);
        Assert.Equal(first.Identity, second.Identity);
    }

    [Fact]
    public async Task AcquireAsync_ModelFileReplaced_PicksUpTheNewModelAfterRefreshWhileOldLeaseKeepsRunning()
    {
        _repository.Model("m", "1", OnnxTestModels.Identity(OnnxElementType.Float));
        using var host = new ModelHost(new LocalFolderModelStore(_repository.Root), Options(), _time);
        var old = await host.AcquireAsync("m", null, CancellationToken.None);
        var oldModel = old.Model;

        _repository.Model("m", "1", OnnxTestModels.Doubler(OnnxElementType.Float));
        using (var beforeRefresh = await host.AcquireAsync("m", null, CancellationToken.None))
        {
            Assert.Equal(old.Identity, beforeRefresh.Identity);
        }

        _time.Advance(Refresh + TimeSpan.FromSeconds(1));
        await RefreshAsync(host);
        using var fresh = await host.AcquireAsync("m", null, CancellationToken.None);

        Assert.Equal(2, host.SessionsCreated);
        Assert.NotEqual(old.Identity, fresh.Identity);
        Assert.Equal([-1L, 2L], fresh.Model.Signature.Inputs[0].Shape);
        Assert.Equal([-1L], old.Model.Signature.Inputs[0].Shape);
        Assert.Equal([2f, 4f], ModelRunner.RunFloats(fresh.Model, "x", [1, 2], 1f, 2f));

        // The lease taken before the swap still runs on the session it started with, until it is let go.
        Assert.Equal([1f, 2f, 3f], ModelRunner.RunIdentity(old.Model));
        old.Dispose();
        Assert.Throws<ObjectDisposedException>(() => ModelRunner.RunIdentity(oldModel));
    }

    [Fact]
    public async Task AcquireAsync_NewVersionFolderAdded_BecomesTheDefaultAfterRefresh()
    {
        _repository.Model("m", "1", OnnxTestModels.Identity(OnnxElementType.Float));
        using var host = new ModelHost(new LocalFolderModelStore(_repository.Root), Options(), _time);
        using var first = await host.AcquireAsync("m", null, CancellationToken.None);

        _repository.Model("m", "2", OnnxTestModels.Doubler(OnnxElementType.Float));
        using (var beforeRefresh = await host.AcquireAsync("m", null, CancellationToken.None))
        {
            Assert.Equal("1", beforeRefresh.Version);
        }

        _time.Advance(Refresh + TimeSpan.FromSeconds(1));
        await RefreshAsync(host);
        using var latest = await host.AcquireAsync("m", null, CancellationToken.None);
        using var pinned = await host.AcquireAsync("m", "1", CancellationToken.None);

        Assert.Equal("2", latest.Version);
        Assert.Equal([2f, 4f], ModelRunner.RunFloats(latest.Model, "x", [1, 2], 1f, 2f));
        Assert.Same(first.Model, pinned.Model);
    }

    [Fact]
    public async Task AcquireAsync_ManifestChanged_ReloadsWithTheNewManifestAfterRefresh()
    {
        _repository.Model("m", "1", OnnxTestModels.Identity(OnnxElementType.Float));
        using var host = new ModelHost(new LocalFolderModelStore(_repository.Root), Options(), _time);
        using var before = await host.AcquireAsync("m", null, CancellationToken.None);
        Assert.Equal([1f, 2f, 3f], ModelRunner.RunIdentity(before.Model));

        _repository.Manifest("m", """{ "max_batch_size": 2 }""");
        _time.Advance(Refresh + TimeSpan.FromSeconds(1));
        await RefreshAsync(host);
        using var after = await host.AcquireAsync("m", null, CancellationToken.None);

        Assert.NotEqual(before.Identity, after.Identity);
        Assert.Equal(2, after.Manifest.MaxBatchSize);
        var refused = Assert.Throws<InferenceException>(() => ModelRunner.RunIdentity(after.Model));
        Assert.Equal(InferenceErrorKind.BadRequest, refused.Kind);
    }

    [Fact]
    public async Task AcquireAsync_ModelFileReplacedByGarbage_KeepsServingTheLoadedModel()
    {
        _repository.Model("m", "1", OnnxTestModels.Identity(OnnxElementType.Float));
        using var host = new ModelHost(new LocalFolderModelStore(_repository.Root), Options(), _time);
        using var before = await host.AcquireAsync("m", null, CancellationToken.None);

        File.WriteAllText(_repository.ModelPath("m", "1"), "this is not an ONNX model");
        _time.Advance(Refresh + TimeSpan.FromSeconds(1));
        await RefreshAsync(host);
        using var after = await host.AcquireAsync("m", null, CancellationToken.None);

        Assert.Same(before.Model, after.Model);
        Assert.Equal(before.Identity, after.Identity);
        Assert.Equal([1f, 2f, 3f], ModelRunner.RunIdentity(after.Model));
    }

    [Fact]
    public async Task AcquireAsync_CallerCancelledWhileLoadIsShared_OthersStillGetTheModel()
    {
        _repository.Model("m", "1", OnnxTestModels.Identity(OnnxElementType.Float));
        var store = new CountingModelStore(_repository.Root);
        using var host = new ModelHost(store, Options(), _time);
        await host.ListAsync(CancellationToken.None);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        store.BeforeStat = path => path.FileName == ModelFilePath.ModelFileName ? release.Task : Task.CompletedTask;

        using var cancel = new CancellationTokenSource();
        var cancelled = host.AcquireAsync("m", null, cancel.Token);
        var patient = host.AcquireAsync("m", null, CancellationToken.None);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        release.SetResult();

        using var lease = await patient.WaitAsync(ModelRunner.HangGuard);
        Assert.Equal(1, host.SessionsCreated);
        Assert.Equal([1f, 2f, 3f], ModelRunner.RunIdentity(lease.Model));
    }

    /// <summary>A request past the refresh interval starts the background refresh; this waits until it is done.</summary>
    private static async Task RefreshAsync(ModelHost host)
    {
        using (await host.AcquireAsync("m", null, CancellationToken.None))
        {
        }

        await host.WhenBackgroundIdleAsync().WaitAsync(ModelRunner.HangGuard);
    }

    private ModelHostOptions Options()
    {
        var options = _repository.Options();
        options.RefreshInterval = Refresh;
        return options;
    }
}

using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Serverless.Inference.Hosting;
using Serverless.Inference.Repository;
using Serverless.Inference.Tests.Hosting.Support;

namespace Serverless.Inference.Tests.Hosting;

/// <summary>Stale-while-revalidate: warm requests never wait on the store; the check runs once, in the background.</summary>
public sealed class ModelHostRefreshTests : IDisposable
{
    private static readonly TimeSpan Refresh = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(10);

    private readonly HostTestRepository _repository = new();
    private readonly FakeTimeProvider _time = new();

    public void Dispose() => _repository.Dispose();

    [Fact]
    public async Task AcquireAsync_WarmPastTheRefreshIntervalWithTheStoreBlocked_CompletesAtOnce()
    {
        _repository.Model("m", "1", OnnxTestModels.Identity(OnnxElementType.Float));
        var store = Store();
        using var host = new ModelHost(store, Options(), _time);
        using var first = await host.AcquireAsync("m", null, CancellationToken.None);

        store.Block();
        _time.Advance(Refresh + TimeSpan.FromSeconds(1));
        var byDefault = host.AcquireAsync("m", null, CancellationToken.None);
        var byVersion = host.AcquireAsync("m", "1", CancellationToken.None);
        var listed = host.ListVersionsAsync("m", CancellationToken.None);

        // Completed before the call returned: nothing on the request's path awaited the (blocked) store.
        Assert.True(byDefault.IsCompletedSuccessfully);
        Assert.True(byVersion.IsCompletedSuccessfully);
        Assert.True(listed.IsCompletedSuccessfully);
        using (var lease = await byDefault)
        using (await byVersion)
        {
            Assert.Same(first.Model, lease.Model);
            Assert.Equal([1f, 2f, 3f], ModelRunner.RunIdentity(lease.Model));
        }

        store.Unblock();
        await host.WhenBackgroundIdleAsync().WaitAsync(ModelRunner.HangGuard);
        Assert.Equal(1, host.SessionsCreated);
        Assert.Equal(2, store.Count("stat m/1/model.onnx"));
    }

    [Fact]
    public async Task AcquireAsync_ManyConcurrentRequestsPastTheRefreshInterval_StartOneRefresh()
    {
        const int Callers = 64;
        _repository.Model("m", "1", OnnxTestModels.Identity(OnnxElementType.Float));
        var store = Store();
        using var host = new ModelHost(store, Options(), _time);
        using (await host.AcquireAsync("m", null, CancellationToken.None))
        {
        }

        var before = Counts(store);
        store.Block();
        _time.Advance(Refresh + TimeSpan.FromSeconds(1));
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var callers = Enumerable.Range(0, Callers).Select(_ => Task.Run(async () =>
        {
            await go.Task;
            using var lease = await host.AcquireAsync("m", null, CancellationToken.None);
            return lease.Identity;
        })).ToArray();
        go.SetResult();
        var identities = await Task.WhenAll(callers).WaitAsync(ModelRunner.HangGuard);

        store.Unblock();
        await host.WhenBackgroundIdleAsync().WaitAsync(ModelRunner.HangGuard);
        var after = Counts(store);
        Assert.Single(identities.Distinct());
        Assert.Equal(before.Manifest + 1, after.Manifest);
        Assert.Equal(before.Versions + 1, after.Versions);
        Assert.Equal(before.ModelFile + 1, after.ModelFile);
        Assert.Equal(1, host.SessionsCreated);
    }

    [Fact]
    public async Task AcquireAsync_ModelFileReplaced_ServesTheOldVersionUntilTheNewOneIsLoadedAndOldLeasesKeepTheirSession()
    {
        _repository.Model("m", "1", OnnxTestModels.Identity(OnnxElementType.Float));
        var store = Store();
        using var host = new ModelHost(store, Options(), _time);
        var old = await host.AcquireAsync("m", null, CancellationToken.None);
        var oldModel = old.Model;

        _repository.Model("m", "1", OnnxTestModels.Doubler(OnnxElementType.Float));
        store.Block();
        _time.Advance(Refresh + TimeSpan.FromSeconds(1));
        using (var whileRefreshing = await host.AcquireAsync("m", null, CancellationToken.None))
        {
            Assert.Equal(old.Identity, whileRefreshing.Identity);
        }

        using (var stillRefreshing = await host.AcquireAsync("m", null, CancellationToken.None))
        {
            Assert.Equal(old.Identity, stillRefreshing.Identity);
        }

        store.Unblock();
        await host.WhenBackgroundIdleAsync().WaitAsync(ModelRunner.HangGuard);
        using var fresh = await host.AcquireAsync("m", null, CancellationToken.None);

        Assert.Equal(2, host.SessionsCreated);
        Assert.NotEqual(old.Identity, fresh.Identity);
        Assert.Equal([2f, 4f], ModelRunner.RunFloats(fresh.Model, "x", [1, 2], 1f, 2f));
        Assert.Equal([1f, 2f, 3f], ModelRunner.RunIdentity(old.Model));
        old.Dispose();
        Assert.Throws<ObjectDisposedException>(() => ModelRunner.RunIdentity(oldModel));
    }

    [Fact]
    public async Task AcquireAsync_StoreFailsDuringRefresh_KeepsServingLogsAndRetriesAfterTheRetryInterval()
    {
        _repository.Model("m", "1", OnnxTestModels.Identity(OnnxElementType.Float));
        var store = Store();
        var logger = new CapturingLogger<ModelHost>();
        using var host = new ModelHost(store, Options(), _time, logger);
        using var first = await host.AcquireAsync("m", null, CancellationToken.None);

        store.Failure = new IOException("the store is down");
        _time.Advance(Refresh + TimeSpan.FromSeconds(1));
        await AcquireAndSettleAsync(host, first);
        var afterFirstTry = store.Calls.Count;
        Assert.Contains(logger.Entries, entry => entry.Level == LogLevel.Warning && entry.Message.StartsWith("Refreshing model m version 1 failed", StringComparison.Ordinal));

        // Remembered: no new try while the retry interval runs.
        _time.Advance(RetryAfter - TimeSpan.FromSeconds(1));
        await AcquireAndSettleAsync(host, first);
        Assert.Equal(afterFirstTry, store.Calls.Count);

        // Past it, the next request starts another try, which fails again and is still served.
        _time.Advance(TimeSpan.FromSeconds(2));
        await AcquireAndSettleAsync(host, first);
        Assert.True(store.Calls.Count > afterFirstTry);

        // The store is back with a new file: the next try after the interval swaps it in.
        store.Failure = null;
        _repository.Model("m", "1", OnnxTestModels.Doubler(OnnxElementType.Float));
        _time.Advance(RetryAfter + TimeSpan.FromSeconds(1));
        await AcquireAndSettleAsync(host, first);
        using var fresh = await host.AcquireAsync("m", null, CancellationToken.None);
        Assert.Equal([2f, 4f], ModelRunner.RunFloats(fresh.Model, "x", [1, 2], 1f, 2f));
        Assert.Equal(2, host.SessionsCreated);
    }

    [Fact]
    public async Task AcquireAsync_DefaultAliasMovedInTheManifest_ResolvesToTheNewVersionAfterTheRefresh()
    {
        _repository.Manifest("m", """{ "default_version": "stable", "aliases": { "stable": "1" } }""")
            .Model("m", "1", OnnxTestModels.Identity(OnnxElementType.Float))
            .Model("m", "2", OnnxTestModels.Doubler(OnnxElementType.Float));
        var store = Store();
        using var host = new ModelHost(store, Options(), _time);
        using (var before = await host.AcquireAsync("m", null, CancellationToken.None))
        {
            Assert.Equal("1", before.Version);
        }

        _repository.Manifest("m", """{ "default_version": "stable", "aliases": { "stable": "2" } }   """);
        _time.Advance(Refresh + TimeSpan.FromSeconds(1));
        using (var stale = await host.AcquireAsync("m", null, CancellationToken.None))
        {
            Assert.Equal("1", stale.Version);
        }

        await host.WhenBackgroundIdleAsync().WaitAsync(ModelRunner.HangGuard);

        // Loaded by the refresh before the new alias took effect: the request itself waits on nothing.
        store.Block();
        var acquire = host.AcquireAsync("m", null, CancellationToken.None);
        Assert.True(acquire.IsCompletedSuccessfully);
        store.Unblock();
        using var byDefault = await acquire;
        using var byAlias = await host.AcquireAsync("m", "stable", CancellationToken.None);
        using var pinned = await host.AcquireAsync("m", "1", CancellationToken.None);

        Assert.Equal("2", byDefault.Version);
        Assert.Same(byDefault.Model, byAlias.Model);
        Assert.Equal("1", pinned.Version);
        Assert.Equal([2f, 4f], ModelRunner.RunFloats(byDefault.Model, "x", [1, 2], 1f, 2f));
    }

    [Fact]
    public async Task Unload_ReleasesTheModelAndTheNextRequestLoadsItAfresh()
    {
        _repository.Model("m", "1", OnnxTestModels.Identity(OnnxElementType.Float));
        var store = Store();
        using var host = new ModelHost(store, Options(), _time);
        var held = await host.AcquireAsync("m", null, CancellationToken.None);
        var heldModel = held.Model;

        var manifestReads = store.Count("stat m/model.json");
        Assert.True(host.Unload("m"));
        Assert.False(host.Unload("m"));
        Assert.Equal(ModelState.NotLoaded, Assert.Single(await host.ListAsync(CancellationToken.None)).State);
        Assert.Equal(manifestReads + 1, store.Count("stat m/model.json"));
        Assert.Equal([1f, 2f, 3f], ModelRunner.RunIdentity(held.Model));
        held.Dispose();
        Assert.Throws<ObjectDisposedException>(() => ModelRunner.RunIdentity(heldModel));

        using var again = await host.AcquireAsync("m", null, CancellationToken.None);
        Assert.NotSame(heldModel, again.Model);
        Assert.Equal(2, host.SessionsCreated);
    }

    [Fact]
    public async Task Unload_DuringARefresh_TheRefreshDoesNotBringTheModelBack()
    {
        _repository.Model("m", "1", OnnxTestModels.Identity(OnnxElementType.Float));
        var store = Store();
        using var host = new ModelHost(store, Options(), _time);
        using (await host.AcquireAsync("m", null, CancellationToken.None))
        {
        }

        _repository.Model("m", "1", OnnxTestModels.Doubler(OnnxElementType.Float));
        store.Block();
        _time.Advance(Refresh + TimeSpan.FromSeconds(1));
        using (await host.AcquireAsync("m", null, CancellationToken.None))
        {
        }

        Assert.True(host.Unload("m"));
        store.Unblock();
        await host.WhenBackgroundIdleAsync().WaitAsync(ModelRunner.HangGuard);

        Assert.Equal(ModelState.NotLoaded, Assert.Single(await host.ListAsync(CancellationToken.None)).State);
        using var again = await host.AcquireAsync("m", null, CancellationToken.None);
        Assert.Equal([2f, 4f], ModelRunner.RunFloats(again.Model, "x", [1, 2], 1f, 2f));
    }

    [Fact]
    public async Task Dispose_DuringARefresh_TheRefreshStopsAndNothingIsServedAfterwards()
    {
        _repository.Model("m", "1", OnnxTestModels.Identity(OnnxElementType.Float));
        var store = Store();
        var host = new ModelHost(store, Options(), _time);
        var held = await host.AcquireAsync("m", null, CancellationToken.None);

        store.Block();
        _time.Advance(Refresh + TimeSpan.FromSeconds(1));
        using (await host.AcquireAsync("m", null, CancellationToken.None))
        {
        }

        host.Dispose();
        await host.WhenBackgroundIdleAsync().WaitAsync(ModelRunner.HangGuard);
        store.Unblock();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => host.AcquireAsync("m", null, CancellationToken.None));
        Assert.Equal([1f, 2f, 3f], ModelRunner.RunIdentity(held.Model));
        held.Dispose();
        Assert.Equal(1, host.SessionsCreated);
    }

    private static (int Manifest, int Versions, int ModelFile) Counts(GatedModelStore store) =>
        (store.Count("stat m/model.json"), store.Count("list-versions m"), store.Count("stat m/1/model.onnx"));

    /// <summary>A request that must be served by <paramref name="expected"/>'s session, then whatever it started in the background run out.</summary>
    private static async Task AcquireAndSettleAsync(ModelHost host, ModelLease expected)
    {
        using (var lease = await host.AcquireAsync("m", null, CancellationToken.None))
        {
            Assert.Same(expected.Model, lease.Model);
        }

        await host.WhenBackgroundIdleAsync().WaitAsync(ModelRunner.HangGuard);
    }

    private GatedModelStore Store() => new(new LocalFolderModelStore(_repository.Root));

    private ModelHostOptions Options()
    {
        var options = _repository.Options();
        options.RefreshInterval = Refresh;
        options.FailureRetryInterval = RetryAfter;
        return options;
    }
}

using Microsoft.Extensions.Time.Testing;
using Serverless.Inference.Hosting;
using Serverless.Inference.Repository;
using Serverless.Inference.Runtime;
using Serverless.Inference.Tests.Hosting.Support;

namespace Serverless.Inference.Tests.Hosting;

public sealed class ModelHostEvictionTests : IDisposable
{
    private readonly HostTestRepository _repository = new();
    private readonly FakeTimeProvider _time = new();

    public void Dispose() => _repository.Dispose();

    [Fact]
    public async Task AcquireAsync_ThirdModelBeyondBudget_ReleasesTheLeastRecentlyUsed()
    {
        byte[][] models = [
            OnnxTestModels.Identity(OnnxElementType.Float),
            OnnxTestModels.Identity(OnnxElementType.Int32),
            OnnxTestModels.Identity(OnnxElementType.Double)];
        _repository.Model("a", "1", models[0]).Model("b", "1", models[1]).Model("c", "1", models[2]);

        // A model is estimated at twice its file size: any two fit, all three do not.
        var sizes = models.Select(m => (long)m.Length).ToArray();
        var options = _repository.Options();
        options.MemoryBudgetBytes = 2 * (sizes.Sum() - sizes.Min());
        using var host = new ModelHost(new LocalFolderModelStore(_repository.Root), options, _time);

        await UseAsync(host, "a");
        await UseAsync(host, "b");
        await UseAsync(host, "a");  // b is now the least recently used
        await UseAsync(host, "c");
        Assert.Equal(3, host.SessionsCreated);

        var states = (await host.ListAsync(CancellationToken.None)).ToDictionary(s => s.Name, s => s.State);
        Assert.Equal(ModelState.Ready, states["a"]);
        Assert.Equal(ModelState.NotLoaded, states["b"]);
        Assert.Equal(ModelState.Ready, states["c"]);

        await UseAsync(host, "a");
        await UseAsync(host, "c");
        Assert.Equal(3, host.SessionsCreated);

        await UseAsync(host, "b");
        Assert.Equal(4, host.SessionsCreated);
    }

    [Fact]
    public async Task AcquireAsync_EvictedModelWithoutLeases_DisposesItsSession()
    {
        var model = OnnxTestModels.Identity(OnnxElementType.Float);
        _repository.Model("a", "1", model).Model("b", "1", model);
        using var host = new ModelHost(new LocalFolderModelStore(_repository.Root), OneModelBudget(model), _time);

        OnnxModel evicted;
        using (var lease = await host.AcquireAsync("a", null, CancellationToken.None))
        {
            evicted = lease.Model;
        }

        Assert.Equal([1f, 2f, 3f], ModelRunner.RunIdentity(evicted));
        await UseAsync(host, "b");

        Assert.Throws<ObjectDisposedException>(() => ModelRunner.RunIdentity(evicted));
    }

    [Fact]
    public async Task AcquireAsync_EvictedWhileLeaseHeld_LeaseKeepsRunningUntilDisposed()
    {
        var model = OnnxTestModels.Identity(OnnxElementType.Float);
        _repository.Model("a", "1", model).Model("b", "1", model);
        using var host = new ModelHost(new LocalFolderModelStore(_repository.Root), OneModelBudget(model), _time);

        var held = await host.AcquireAsync("a", null, CancellationToken.None);
        var heldModel = held.Model;
        await UseAsync(host, "b");

        var states = (await host.ListAsync(CancellationToken.None)).ToDictionary(s => s.Name, s => s.State);
        Assert.Equal(ModelState.NotLoaded, states["a"]);
        Assert.Equal([1f, 2f, 3f], ModelRunner.RunIdentity(held.Model));

        held.Dispose();
        Assert.Throws<ObjectDisposedException>(() => ModelRunner.RunIdentity(heldModel));
        Assert.Throws<ObjectDisposedException>(() => held.Model);

        // Asking again loads a fresh session.
        using var again = await host.AcquireAsync("a", null, CancellationToken.None);
        Assert.NotSame(heldModel, again.Model);
        Assert.Equal([1f, 2f, 3f], ModelRunner.RunIdentity(again.Model));
    }

    [Fact]
    public async Task Dispose_WithLeaseHeld_SessionLivesUntilTheLeaseIsDisposed()
    {
        _repository.Model("a", "1", OnnxTestModels.Identity(OnnxElementType.Float));
        var host = new ModelHost(new LocalFolderModelStore(_repository.Root), _repository.Options(), _time);
        var lease = await host.AcquireAsync("a", null, CancellationToken.None);
        var model = lease.Model;

        host.Dispose();
        Assert.Equal([1f, 2f, 3f], ModelRunner.RunIdentity(lease.Model));

        lease.Dispose();
        lease.Dispose();
        Assert.Throws<ObjectDisposedException>(() => ModelRunner.RunIdentity(model));
    }

    private ModelHostOptions OneModelBudget(byte[] model)
    {
        var options = _repository.Options();
        options.MemoryBudgetBytes = 2L * model.Length;
        return options;
    }

    private static async Task UseAsync(ModelHost host, string model)
    {
        using var lease = await host.AcquireAsync(model, null, CancellationToken.None);
        Assert.Equal(model, lease.Name);
    }
}

using Microsoft.Extensions.Time.Testing;
using Serverless.Inference.Hosting;
using Serverless.Inference.Repository;
using Serverless.Inference.Tests.Hosting.Support;

namespace Serverless.Inference.Tests.Hosting;

public sealed class ModelHostFailureTests : IDisposable
{
    private static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(10);

    private readonly HostTestRepository _repository = new();
    private readonly FakeTimeProvider _time = new();

    public void Dispose() => _repository.Dispose();

    [Fact]
    public async Task AcquireAsync_GarbageModelFile_FailsAloneIsRememberedAndRetriedAfterTheInterval()
    {
        _repository.Model("broken", "1", "this is not an ONNX model"u8.ToArray())
            .Model("good", "1", OnnxTestModels.Identity(OnnxElementType.Float));
        var store = new CountingModelStore(_repository.Root);
        using var host = new ModelHost(store, Options(), _time);

        var failure = await Assert.ThrowsAsync<InferenceException>(() => host.AcquireAsync("broken", null, CancellationToken.None));
        Assert.Equal(InferenceErrorKind.Unavailable, failure.Kind);
        Assert.Contains("'broken'", failure.Message, StringComparison.Ordinal);

        using (var good = await host.AcquireAsync("good", null, CancellationToken.None))
        {
            Assert.Equal([1f, 2f, 3f], ModelRunner.RunIdentity(good.Model));
        }

        // Remembered: no store access at all while the retry interval runs.
        store.ClearCalls();
        _time.Advance(RetryAfter - TimeSpan.FromSeconds(1));
        var remembered = await Assert.ThrowsAsync<InferenceException>(() => host.AcquireAsync("broken", null, CancellationToken.None));
        Assert.Equal(InferenceErrorKind.Unavailable, remembered.Kind);
        Assert.Equal(failure.Message, remembered.Message);
        Assert.Empty(store.Calls);

        // Past the interval the load is tried again (and fails again).
        _time.Advance(TimeSpan.FromSeconds(2));
        await Assert.ThrowsAsync<InferenceException>(() => host.AcquireAsync("broken", null, CancellationToken.None));
        Assert.Equal(1, store.Count("stat broken/1/model.onnx"));

        // Fixed on disk: the next try after the interval loads it.
        _repository.Model("broken", "1", OnnxTestModels.Identity(OnnxElementType.Float));
        _time.Advance(RetryAfter + TimeSpan.FromSeconds(1));
        using var fixedLease = await host.AcquireAsync("broken", null, CancellationToken.None);
        Assert.Equal([1f, 2f, 3f], ModelRunner.RunIdentity(fixedLease.Model));
        Assert.Equal(2, host.SessionsCreated);
    }

    [Fact]
    public async Task ListAsync_AfterFailure_ReportsFailedOnlyForThatModel()
    {
        _repository.Model("broken", "1", "garbage"u8.ToArray())
            .Model("good", "1", OnnxTestModels.Identity(OnnxElementType.Float))
            .Model("idle", "1", OnnxTestModels.Identity(OnnxElementType.Float));
        using var host = new ModelHost(new LocalFolderModelStore(_repository.Root), Options(), _time);
        await Assert.ThrowsAsync<InferenceException>(() => host.AcquireAsync("broken", null, CancellationToken.None));
        using var good = await host.AcquireAsync("good", null, CancellationToken.None);

        var states = (await host.ListAsync(CancellationToken.None)).ToDictionary(s => s.Name, s => s.State);

        Assert.Equal(ModelState.Failed, states["broken"]);
        Assert.Equal(ModelState.Ready, states["good"]);
        Assert.Equal(ModelState.NotLoaded, states["idle"]);
    }

    [Fact]
    public async Task AcquireAsync_ManifestWithUnknownField_FailsUnavailableNamingTheFile()
    {
        _repository.Model("m", "1", OnnxTestModels.Identity(OnnxElementType.Float))
            .Manifest("m", """{ "max_batch_size": 4, "colour": "red" }""");
        using var host = new ModelHost(new LocalFolderModelStore(_repository.Root), Options(), _time);

        var failure = await Assert.ThrowsAsync<InferenceException>(() => host.AcquireAsync("m", null, CancellationToken.None));

        Assert.Equal(InferenceErrorKind.Unavailable, failure.Kind);
        Assert.Contains("m/model.json", failure.Message, StringComparison.Ordinal);
        Assert.Contains("colour", failure.Message, StringComparison.Ordinal);
        Assert.Equal(0, host.SessionsCreated);
    }

    [Fact]
    public async Task ListAsync_ManifestWithUnknownField_ReportsTheModelFailedWithTheReason()
    {
        _repository.Model("m", "1", OnnxTestModels.Identity(OnnxElementType.Float))
            .Manifest("m", """{ "colour": "red" }""");
        using var host = new ModelHost(new LocalFolderModelStore(_repository.Root), Options(), _time);

        var status = Assert.Single(await host.ListAsync(CancellationToken.None));

        Assert.Equal(ModelState.Failed, status.State);
        Assert.Contains("m/model.json", status.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{ "inputs": [ { "name": "nope" } ] }""", "nope")]
    [InlineData("""{ "outputs": [ { "name": "y" }, { "name": "missing_output" } ] }""", "missing_output")]
    [InlineData("""{ "inputs": [ { "name": "x", "shape": [2, 2] } ] }""", "x")]
    public async Task AcquireAsync_ManifestOverrideThatDoesNotFit_FailsUnavailableNamingTheTensor(string manifest, string tensor)
    {
        _repository.Model("m", "1", OnnxTestModels.Identity(OnnxElementType.Float)).Manifest("m", manifest);
        using var host = new ModelHost(new LocalFolderModelStore(_repository.Root), Options(), _time);

        var failure = await Assert.ThrowsAsync<InferenceException>(() => host.AcquireAsync("m", null, CancellationToken.None));

        Assert.Equal(InferenceErrorKind.Unavailable, failure.Kind);
        Assert.Contains($"'{tensor}'", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AcquireAsync_VersionFolderLosesItsModelFile_FailsUnavailable()
    {
        _repository.Model("m", "1", OnnxTestModels.Identity(OnnxElementType.Float));
        using var host = new ModelHost(new LocalFolderModelStore(_repository.Root), Options(), _time);
        await host.ListAsync(CancellationToken.None);
        File.Delete(_repository.ModelPath("m", "1"));

        var failure = await Assert.ThrowsAsync<InferenceException>(() => host.AcquireAsync("m", null, CancellationToken.None));

        Assert.Equal(InferenceErrorKind.Unavailable, failure.Kind);
        Assert.Contains("model.onnx", failure.Message, StringComparison.Ordinal);
    }

    private ModelHostOptions Options()
    {
        var options = _repository.Options();
        options.RefreshInterval = TimeSpan.FromMinutes(5);
        options.FailureRetryInterval = RetryAfter;
        return options;
    }
}

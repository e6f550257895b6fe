using Microsoft.Extensions.Time.Testing;
using Serverless.Inference.Hosting;
using Serverless.Inference.Tests.Hosting.Support;

namespace Serverless.Inference.Tests.Hosting;

public sealed class ModelHostVersionTests : IDisposable
{
    private readonly HostTestRepository _repository = new();

    public void Dispose() => _repository.Dispose();

    [Fact]
    public async Task AcquireAsync_NoVersionAndNoDefault_TakesTheHighestNumericVersion()
    {
        using var host = Host(manifest: "{}");

        using var lease = await host.AcquireAsync("m", null, CancellationToken.None);

        Assert.Equal("10", lease.Version);
    }

    [Fact]
    public async Task AcquireAsync_NoVersion_TakesTheManifestDefaultVersion()
    {
        using var host = Host(manifest: """{ "default_version": "2" }""");

        using var lease = await host.AcquireAsync("m", null, CancellationToken.None);

        Assert.Equal("2", lease.Version);
    }

    [Theory]
    [InlineData("stable", "2")]
    [InlineData("latest", "10")]
    [InlineData("1", "1")]
    [InlineData("10", "10")]
    public async Task AcquireAsync_VersionOrAlias_ResolvesToTheVersionFolder(string requested, string expected)
    {
        using var host = Host(manifest: """{ "aliases": { "stable": "2", "latest": "10" } }""");

        using var lease = await host.AcquireAsync("m", requested, CancellationToken.None);

        Assert.Equal(expected, lease.Version);
        Assert.Equal("m", lease.Name);
    }

    [Fact]
    public async Task AcquireAsync_DefaultVersionIsAnAlias_ResolvesThroughTheAlias()
    {
        using var host = Host(manifest: """{ "default_version": "stable", "aliases": { "stable": "1" } }""");

        using var lease = await host.AcquireAsync("m", null, CancellationToken.None);

        Assert.Equal("1", lease.Version);
    }

    [Fact]
    public async Task AcquireAsync_SameVersionByNumberAndAlias_SharesOneSession()
    {
        using var host = Host(manifest: """{ "aliases": { "stable": "2" } }""");

        using var byAlias = await host.AcquireAsync("m", "stable", CancellationToken.None);
        using var byNumber = await host.AcquireAsync("m", "2", CancellationToken.None);

        Assert.Same(byAlias.Model, byNumber.Model);
        Assert.Equal(1, host.SessionsCreated);
    }

    [Theory]
    [InlineData("7")]
    [InlineData("dangling")]
    [InlineData("beta")]
    public async Task AcquireAsync_UnknownVersionOrDanglingAlias_IsNotFound(string version)
    {
        using var host = Host(manifest: """{ "aliases": { "dangling": "9" } }""");

        var failure = await Assert.ThrowsAsync<InferenceException>(() => host.AcquireAsync("m", version, CancellationToken.None));

        Assert.Equal(InferenceErrorKind.NotFound, failure.Kind);
        Assert.Contains(version, failure.Message, StringComparison.Ordinal);
        Assert.Equal(0, host.SessionsCreated);
    }

    [Fact]
    public async Task AcquireAsync_UnknownModel_IsNotFound()
    {
        using var host = Host(manifest: "{}");

        var failure = await Assert.ThrowsAsync<InferenceException>(() => host.AcquireAsync("nope", null, CancellationToken.None));

        Assert.Equal(InferenceErrorKind.NotFound, failure.Kind);
        Assert.Contains("nope", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AcquireAsync_DefaultVersionMissing_IsUnavailable()
    {
        using var host = Host(manifest: """{ "default_version": "5" }""");

        var failure = await Assert.ThrowsAsync<InferenceException>(() => host.AcquireAsync("m", null, CancellationToken.None));

        Assert.Equal(InferenceErrorKind.Unavailable, failure.Kind);
        Assert.Contains("'5'", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AcquireAsync_ModelWithoutVersionFolders_IsUnavailable()
    {
        _repository.Manifest("empty", "{}");
        Directory.CreateDirectory(Path.Combine(_repository.Root, "empty", "1"));  // no model.onnx inside
        using var host = new ModelHost(new CountingModelStore(_repository.Root), _repository.Options(), new FakeTimeProvider());

        var failure = await Assert.ThrowsAsync<InferenceException>(() => host.AcquireAsync("empty", null, CancellationToken.None));

        Assert.Equal(InferenceErrorKind.Unavailable, failure.Kind);
    }

    [Theory]
    [InlineData("..", null)]
    [InlineData("a/b", null)]
    [InlineData("a\\b", null)]
    [InlineData("", null)]
    [InlineData(".m", null)]
    [InlineData("m", "..")]
    [InlineData("m", "a/b")]
    [InlineData("m", "")]
    [InlineData("m", "1/../../etc")]
    public async Task AcquireAsync_InvalidName_IsBadRequestWithoutTouchingTheStore(string model, string? version)
    {
        _repository.Model("m", "1", OnnxTestModels.Identity(OnnxElementType.Float));
        var store = new CountingModelStore(_repository.Root);
        using var host = new ModelHost(store, _repository.Options(), new FakeTimeProvider());

        var failure = await Assert.ThrowsAsync<InferenceException>(() => host.AcquireAsync(model, version, CancellationToken.None));

        Assert.Equal(InferenceErrorKind.BadRequest, failure.Kind);
        Assert.Empty(store.Calls);
    }

    [Fact]
    public async Task ListAsync_ReportsVersionsInNumericOrderAndTheDefault_WithoutLoading()
    {
        using var host = Host(manifest: "{}");

        var status = Assert.Single(await host.ListAsync(CancellationToken.None));

        Assert.Equal("m", status.Name);
        Assert.Equal(["1", "2", "10"], status.Versions);
        Assert.Equal("10", status.DefaultVersion);
        Assert.Equal(ModelState.NotLoaded, status.State);
        Assert.Equal(0, host.SessionsCreated);
    }

    /// <summary>Model "m" with versions 1, 2 and 10 (so ordinal order would pick 2), and the given manifest.</summary>
    private ModelHost Host(string manifest)
    {
        var model = OnnxTestModels.Identity(OnnxElementType.Float);
        _repository.Manifest("m", manifest).Model("m", "1", model).Model("m", "2", model).Model("m", "10", model);
        return new ModelHost(new CountingModelStore(_repository.Root), _repository.Options(), new FakeTimeProvider());
    }
}

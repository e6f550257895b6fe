using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Serverless.Inference.Hosting;
using Serverless.Inference.Repository;
using Serverless.Inference.Tests.Hosting.Support;

namespace Serverless.Inference.Tests.Hosting;

public sealed class ModelHostWarmupTests : IDisposable
{
    private readonly HostTestRepository _repository = new();
    private readonly CapturingLogger<ModelHost> _logger = new();

    public void Dispose() => _repository.Dispose();

    [Fact]
    public async Task AcquireAsync_WarmupOnModelThatRejectsZeros_RunsTheModelAndStillLoads()
    {
        _repository.Model("picky", "1", ModelRunner.RejectsZeros()).Manifest("picky", """{ "warmup": true }""");
        using var host = Host();

        using var lease = await host.AcquireAsync("picky", null, CancellationToken.None);

        // The warning can only come from running the model on generated zeros during the load.
        Assert.Contains(_logger.Entries, entry => entry.Level == LogLevel.Warning && entry.Message.Contains("Warmup of model picky", StringComparison.Ordinal));
        Assert.Equal(1, host.SessionsCreated);
        Assert.True(lease.LoadReport.Warmup >= TimeSpan.Zero);
    }

    [Fact]
    public async Task AcquireAsync_WarmupOff_DoesNotRunTheModel()
    {
        _repository.Model("picky", "1", ModelRunner.RejectsZeros()).Manifest("picky", """{ "warmup": false }""");
        using var host = Host();

        using var lease = await host.AcquireAsync("picky", null, CancellationToken.None);

        // The same model with warmup on logs a warning (test above); with warmup off it never ran.
        Assert.DoesNotContain(_logger.Entries, entry => entry.Level >= LogLevel.Warning);
        Assert.False(lease.Manifest.Warmup);
        Assert.Equal(1, host.SessionsCreated);
    }

    [Theory]
    [InlineData(OnnxElementType.Float)]
    [InlineData(OnnxElementType.String)]
    [InlineData(OnnxElementType.Bool)]
    [InlineData(OnnxElementType.Float16)]
    public async Task AcquireAsync_WarmupOnValidModel_LoadsWithoutWarning(OnnxElementType type)
    {
        _repository.Model("m", "1", OnnxTestModels.Identity(type)).Manifest("m", """{ "warmup": true }""");
        using var host = Host();

        using var lease = await host.AcquireAsync("m", null, CancellationToken.None);

        Assert.True(lease.Manifest.Warmup);
        Assert.DoesNotContain(_logger.Entries, entry => entry.Level >= LogLevel.Warning);
        Assert.True(lease.LoadReport.Warmup >= TimeSpan.Zero);
        Assert.Equal(lease.LoadReport.Download + lease.LoadReport.SessionCreate + lease.LoadReport.Warmup, lease.LoadReport.Total);
    }

    [Fact]
    public async Task AcquireAsync_WarmupOnMultiInputModelWithFixedAndDynamicDimensions_LoadsWithoutWarning()
    {
        _repository.Model("add", "1", OnnxTestModels.AddFloat()).Model("image", "1", OnnxTestModels.Image(3, 4, 4))
            .Manifest("add", """{ "warmup": true }""").Manifest("image", """{ "warmup": true }""");
        using var host = Host();

        using var add = await host.AcquireAsync("add", null, CancellationToken.None);
        using var image = await host.AcquireAsync("image", null, CancellationToken.None);

        Assert.DoesNotContain(_logger.Entries, entry => entry.Level >= LogLevel.Warning);
        Assert.Equal(2, host.SessionsCreated);
    }

    private ModelHost Host() =>
        new(new LocalFolderModelStore(_repository.Root), _repository.Options(), new FakeTimeProvider(), _logger);
}

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Infer.Cli;
using Serverless.Inference.Hosting;

namespace Serverless.Inference.Benchmarks.Harness;

/// <summary>
/// The real local host (what <c>infer serve</c> runs) in this process, on a free loopback port:
/// exactly the one the CLI builds.
/// </summary>
internal sealed class ServeHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ServeHost(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public ModelHost Models => _app.Services.GetRequiredService<ModelHost>();

    /// <param name="grpcPort">Also serve gRPC there, as <c>infer serve --grpc-port</c> does.</param>
    /// <param name="captureDirectory">Record models with monitoring.capture there, as <c>infer serve --capture-dir</c> does.</param>
    public static async Task<ServeHost> StartAsync(string repository, int maxRequestBytes, int? memoryMb = null, int? grpcPort = null, string? captureDirectory = null)
    {
        var app = BuildQuietly(repository, maxRequestBytes, memoryMb, grpcPort, captureDirectory);
        await app.StartAsync();
        return new ServeHost(app, BaseAddressOf(app, grpcPort));
    }

    /// <summary>The REST address Kestrel bound, once started (the host listens on port 0).</summary>
    public static Uri BaseAddressOf(WebApplication app, int? grpcPort = null)
    {
        ArgumentNullException.ThrowIfNull(app);
        var addresses = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses;
        return addresses
            .Select(address => new Uri(address.Replace("[::1]", "127.0.0.1", StringComparison.Ordinal)))
            .First(address => address.Port != grpcPort);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private static WebApplication BuildQuietly(string repository, int maxRequestBytes, int? memoryMb, int? grpcPort, string? captureDirectory)
    {
        // The host logs model loads at Information to the console; here they would break up the tables
        // (the benchmark prints the load report itself). The builder reads the environment once, at creation.
        const string LogLevel = "Logging__LogLevel__Default";
        var previous = Environment.GetEnvironmentVariable(LogLevel);
        Environment.SetEnvironmentVariable(LogLevel, "Warning");
        try
        {
            return ServeCommand.Build(new ServeSettings(repository, Port: 0, maxRequestBytes, Warmup: false, MemoryMb: memoryMb, GrpcPort: grpcPort, CaptureDirectory: captureDirectory));
        }
        finally
        {
            Environment.SetEnvironmentVariable(LogLevel, previous);
        }
    }
}

using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Infer.Cli;
using Serverless.Inference.Hosting;
using Serverless.Inference.Protocol;

namespace Serverless.Inference.Tests.Support;

/// <summary>
/// The real local host (<see cref="ServeCommand.Build"/>: Kestrel on 127.0.0.1, a free port) over a model
/// repository folder, with a client pointed at it.
/// </summary>
public sealed class OipTestServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private OipTestServer(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
        Client = new OipClient(address);
    }

    public Uri Address { get; }

    public OipClient Client { get; }

    /// <summary>The server's own protocol handler, for requests that skip HTTP.</summary>
    public OpenInferenceHandler Handler => _app.Services.GetRequiredService<OpenInferenceHandler>();

    public ModelHost Host => _app.Services.GetRequiredService<ModelHost>();

    public static async Task<OipTestServer> StartAsync(string repository, int maxRequestBytes = RequestLimits.DefaultMaxRequestBytes, int? memoryMb = null)
    {
        var app = ServeCommand.Build(new ServeSettings(repository, Port: 0, maxRequestBytes, Warmup: false, MemoryMb: memoryMb));
        try
        {
            await app.StartAsync();
            // Port 0 binds a free port; the address feature reports the one actually bound.
            var address = app.Urls.Single();
            return new OipTestServer(app, new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal)));
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Serverless.Functions.Azure.HostStandIn.Host;

/// <summary>
/// A hand-written stand-in for the Azure Functions host's side of the documented language worker protocol
/// (FunctionRpc.proto, and the HTTP proxying of the worker SDK's ASP.NET Core integration), because the real host
/// (Core Tools' <c>func</c>) cannot run here: its npm package downloads the host's binaries from outside at install.
/// It serves the host's gRPC endpoint on 127.0.0.1, starts a worker the way the host does (worker.config.json's
/// executable and worker path, then <c>--host/--port/--workerId/--requestId/--grpcMaxMessageLength</c> and their
/// <c>--functions-*</c> twins; <c>FUNCTIONS_WORKER_RUNTIME</c>, <c>FUNCTIONS_APPLICATION_DIRECTORY</c>,
/// <c>FUNCTIONS_WORKER_DIRECTORY</c> and the app settings in its environment; the app's folder as working directory)
/// and drives it through <see cref="WorkerChannel"/>.
/// A proxied request the worker refuses is retried a few times, as the host does (<see cref="ProxyRetryHandler"/>).
/// What it leaves out: triggers other than HTTP (no storage listeners, timers, Event Grid webhook), function keys and
/// the host's own routing (the caller names the function), host.json handling beyond what the worker reads itself,
/// the X-Forwarded-* headers of the host's proxy, placeholder mode and environment reload, worker restarts,
/// WorkerStatusRequest pings, shared memory, and the host's own logging and telemetry.
/// </summary>
internal sealed class FunctionsHostStandIn : IAsyncDisposable
{
    /// <summary>What the host passes as the gRPC message limit: int.MaxValue.</summary>
    private const int GrpcMaxMessageLength = int.MaxValue;

    private readonly WebApplication _app;
    private readonly FunctionRpcEndpoint.Workers _workers;

    private FunctionsHostStandIn(WebApplication app, FunctionRpcEndpoint.Workers workers, Uri endpoint)
    {
        _app = app;
        _workers = workers;
        Endpoint = endpoint;
    }

    /// <summary>The gRPC endpoint workers call back, <c>http://127.0.0.1:&lt;port&gt;/</c> (HTTP/2 without TLS, as the host's).</summary>
    public Uri Endpoint { get; }

    public static async Task<FunctionsHostStandIn> StartAsync(CancellationToken cancellationToken = default)
    {
        var workers = new FunctionRpcEndpoint.Workers();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddSingleton(workers);
        builder.Services.AddGrpc(options =>
        {
            options.MaxReceiveMessageSize = null;
            options.MaxSendMessageSize = null;
        });
        var app = builder.Build();
        app.MapGrpcService<FunctionRpcEndpoint>();
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        return new FunctionsHostStandIn(app, workers, new Uri(address.EndsWith('/') ? address : address + "/"));
    }

    /// <summary>Starts the worker process; await <see cref="WorkerChannel.InitializeAsync"/> next.</summary>
    public WorkerChannel StartWorker(WorkerLaunch launch)
    {
        ArgumentNullException.ThrowIfNull(launch);
        var appDirectory = Path.GetFullPath(launch.AppDirectory);
        var description = WorkerDescription.Read(appDirectory);
        var workerId = Guid.NewGuid().ToString();
        var requestId = Guid.NewGuid().ToString();
        var start = new ProcessStartInfo(description.Executable)
        {
            WorkingDirectory = appDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var length = GrpcMaxMessageLength.ToString(CultureInfo.InvariantCulture);
        string[] arguments =
        [
            .. description.Arguments.Where(argument => argument.Length > 0),
            description.WorkerPath,
            "--host", Endpoint.Host,
            "--port", Endpoint.Port.ToString(CultureInfo.InvariantCulture),
            "--workerId", workerId,
            "--requestId", requestId,
            "--grpcMaxMessageLength", length,
            "--functions-uri", Endpoint.AbsoluteUri,
            "--functions-worker-id", workerId,
            "--functions-request-id", requestId,
            "--functions-grpc-max-message-length", length,
        ];
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in launch.Settings)
        {
            start.Environment[name] = value;
        }

        start.Environment["FUNCTIONS_WORKER_RUNTIME"] = "dotnet-isolated";
        start.Environment["FUNCTIONS_WORKER_RUNTIME_VERSION"] = $"{Environment.Version.Major}.0";
        start.Environment["FUNCTIONS_APPLICATION_DIRECTORY"] = appDirectory;
        start.Environment["FUNCTIONS_WORKER_DIRECTORY"] = appDirectory;
        start.Environment["AzureWebJobsScriptRoot"] = appDirectory;

        var channel = new WorkerChannel(workerId, start, appDirectory, _workers.Remove);
        _workers.Add(channel);
        try
        {
            channel.Start();
        }
        catch
        {
            _workers.Remove(channel);
            throw;
        }

        return channel;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serverless.Inference;
using Serverless.Inference.AspNetCore;
using Serverless.Inference.Batch;
using Serverless.Inference.Batch.Sharding;
using Serverless.Inference.Grpc;
using Serverless.Inference.Hosting;
using Serverless.Inference.Monitoring;
using Serverless.Inference.Repository;
using Spectre.Console;

namespace Serverless.Infer.Cli;

/// <param name="MemoryMb">The instance memory to plan for; null: detect it.</param>
/// <param name="GrpcPort">The gRPC endpoint's port; null: no gRPC.</param>
/// <param name="CaptureDirectory">The folder that holds capture/ (prediction capture objects); null: nothing is captured.</param>
internal sealed record ServeSettings(
    string Repository, int Port, int MaxRequestBytes, bool Warmup, string? DropFolder = null, int? MemoryMb = null, int? GrpcPort = null, string? CaptureDirectory = null);

internal static class ServeCommand
{
    public static async Task<int> RunAsync(ServeSettings settings, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(settings.Repository))
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] the model repository [bold]{settings.Repository}[/] does not exist");
            return 2;
        }

        if (settings.DropFolder is { } dropFolder)
        {
            Directory.CreateDirectory(Path.Combine(dropFolder, BatchKey.Incoming));
        }

        await using var app = Build(settings);
        if (settings.Warmup)
        {
            await ModelsCommand.ShowAsync(app.Services.GetRequiredService<ModelHost>(), Path.GetFullPath(settings.Repository), loadModels: true, cancellationToken);
        }

        if (await TryStartAsync(app, cancellationToken) is { } failure)
        {
            if (failure is AddressInUseException)
            {
                AnsiConsole.MarkupLineInterpolated($"[red]error:[/] port {settings.Port} on 127.0.0.1 is in use; choose another with --port");
            }
            else
            {
                AnsiConsole.MarkupLineInterpolated($"[red]error:[/] cannot listen on 127.0.0.1:{settings.Port}: {failure.Message}");
            }

            return 1;
        }

        var url = $"http://127.0.0.1:{settings.Port}";
        AnsiConsole.MarkupLineInterpolated($"Serving [bold]{settings.Repository}[/] on [link]{url}/v2[/] (Ctrl+C stops)");
        AnsiConsole.MarkupLineInterpolated($"Prometheus metrics on [link]{url}{ServeTelemetry.MetricsPath}[/]");
        if (settings.GrpcPort is { } grpcPort)
        {
            AnsiConsole.MarkupLineInterpolated($"gRPC (inference.GRPCInferenceService, h2c) on [bold]127.0.0.1:{grpcPort}[/]");
        }

        if (settings.CaptureDirectory is { } capture)
        {
            AnsiConsole.MarkupLineInterpolated($"Capture: models with monitoring.capture are recorded under [bold]{Path.Combine(capture, PredictionCapture.Folder)}[/]");
        }

        if (settings.DropFolder is { } folder)
        {
            AnsiConsole.MarkupLineInterpolated($"Batch: drop files into [bold]{Path.Combine(folder, BatchKey.Incoming)}/<model>/[/]; results appear under [bold]{Path.Combine(folder, BatchKey.Outgoing)}[/]");
        }

        AnsiConsole.MarkupLine("[grey]Try:[/]");
        // Written past Spectre, which hard-wraps at the console's width (80 when redirected), mid-number if need be.
        foreach (var line in Example(url))
        {
            AnsiConsole.Profile.Out.Writer.WriteLine(line);
        }

        await app.WaitForShutdownAsync(cancellationToken);
        return 0;
    }

    /// <summary>
    /// A request to paste into a shell, in lines under 80 columns (the JSON breaks inside its quotes, which a shell
    /// keeps as they are): nothing hard-wraps them, and a narrower terminal only soft-wraps them, which copies intact.
    /// </summary>
    internal static IReadOnlyList<string> Example(string url) =>
    [
        $"  curl {url}/v2/models/iris/infer -d '{{\"inputs\": [{{",
        """    "name": "Features", "shape": [1, 4], "datatype": "FP32",""",
        """    "data": [5.1, 3.5, 1.4, 0.2]}]}'""",
    ];

    /// <returns>Null once listening; the reason the server could not listen otherwise.</returns>
    private static async Task<Exception?> TryStartAsync(WebApplication app, CancellationToken cancellationToken)
    {
        var startup = app.Services.GetRequiredService<StartupLog>();
        try
        {
            startup.Quiet = true;
            await app.StartAsync(cancellationToken);
            return null;
        }
        catch (IOException e)
        {
            startup.Quiet = false;
            // The hosted services (drop folder watcher, shard workers) started before Kestrel failed to bind: stopped
            // here, they end quietly; left to the dispose, the host reports each as a failed background service.
            await app.StopAsync(CancellationToken.None);
            return e.InnerException as AddressInUseException ?? (Exception)e;
        }
        finally
        {
            startup.Quiet = false;
        }
    }

    /// <summary>The whole local host; tests build it too, on a port of their own.</summary>
    public static WebApplication Build(ServeSettings settings)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(options => options.SingleLine = true);
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting", LogLevel.Warning);
        // Any enabled level here makes ASP.NET Core build an activity and a log scope for every request.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        // A failed start is logged by the host with its whole stack trace; serve reports it in one line instead.
        var startup = new StartupLog();
        builder.Services.AddSingleton(startup);
        builder.Logging.AddFilter(StartupLog.HostCategory, level => level >= LogLevel.Information && !(startup.Quiet && level >= LogLevel.Error));
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // Local servers bind loopback only; exposing one is a deliberate act, not a default.
            kestrel.Listen(System.Net.IPAddress.Loopback, settings.Port);
            if (settings.GrpcPort is { } grpcPort)
            {
                // gRPC without TLS is HTTP/2 with prior knowledge (h2c), which an endpoint can only offer on its own.
                kestrel.Listen(System.Net.IPAddress.Loopback, grpcPort, listen => listen.Protocols = HttpProtocols.Http2);
            }

            // The handler enforces MaxRequestBytes itself, with a 413 it explains. Kestrel's own limit would cut in
            // first on chunked bodies, whose chunk framing it counts too, and fail the read with a bare 500.
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.AddServerHeader = false;
        });
        builder.AddServeTelemetry();
        builder.Services.AddInference(
            _ => new LocalFolderModelStore(settings.Repository),
            host =>
            {
                host.RefreshInterval = TimeSpan.FromSeconds(2);
                if (settings.MemoryMb is { } memory)
                {
                    host.InstanceMemory = new InstanceMemory((long)memory << 20, "--memory-mb");
                }
            },
            limits =>
            {
                limits.MaxRequestBytes = settings.MaxRequestBytes;
                limits.ModelControl = true;
            });

        if (settings.GrpcPort is not null)
        {
            builder.Services.AddOpenInferenceGrpc();
        }

        if (settings.CaptureDirectory is { } captureDirectory)
        {
            // Disposed with the host, which writes what is still buffered.
            Directory.CreateDirectory(captureDirectory);
            builder.Services.AddSingleton(provider => new PredictionCapture(
                new LocalFolderBatchStore(captureDirectory),
                new CaptureOptions(),
                provider.GetRequiredService<ILogger<PredictionCapture>>(),
                provider.GetService<TimeProvider>()));
        }

        if (settings.DropFolder is { } dropFolder)
        {
            builder.Services.AddSingleton(TimeProvider.System);
            builder.Services.AddSingleton(new LocalFolderBatchStore(dropFolder));
            builder.Services.AddSingleton(new BatchRunnerOptions());
            // Big files are split and their shards scored by a pool of workers here, as queue-triggered functions would.
            builder.Services.AddSingleton(provider => new BatchShardRunner(
                provider.GetRequiredService<LocalFolderBatchStore>(),
                provider.GetRequiredService<ModelHost>(),
                provider.GetRequiredService<BatchRunnerOptions>(),
                provider.GetRequiredService<ILogger<BatchShardRunner>>(),
                provider.GetRequiredService<TimeProvider>()));
            builder.Services.AddSingleton(provider => new InProcessShardQueue(
                provider.GetRequiredService<BatchShardRunner>(),
                Math.Max(1, Environment.ProcessorCount),
                provider.GetRequiredService<ILogger<InProcessShardQueue>>(),
                provider.GetRequiredService<TimeProvider>()));
            builder.Services.AddHostedService<ShardWorkers>();
            builder.Services.AddSingleton(provider => new BatchJobRunner(
                provider.GetRequiredService<LocalFolderBatchStore>(),
                provider.GetRequiredService<ModelHost>(),
                provider.GetRequiredService<BatchRunnerOptions>(),
                provider.GetRequiredService<ILogger<BatchJobRunner>>(),
                provider.GetRequiredService<TimeProvider>(),
                provider.GetRequiredService<InProcessShardQueue>()));
            builder.Services.AddHostedService<DropFolderWatcher>();
        }

        var app = builder.Build();
        app.MapOpenInference();
        app.MapServeMetrics();
        if (settings.GrpcPort is { } port)
        {
            app.MapOpenInferenceGrpc(port > 0 ? port : null);
        }

        return app;
    }
}

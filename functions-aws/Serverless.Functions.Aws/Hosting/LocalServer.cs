using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serverless.Inference.AspNetCore;

namespace Serverless.Functions.Aws;

/// <summary>Outside Lambda the same binary serves the same routes on Kestrel, on loopback only.</summary>
internal static partial class LocalServer
{
    public static WebApplication Build(FunctionSettings settings, string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(options => options.SingleLine = true);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(System.Net.IPAddress.Loopback, settings.Port);
            // The handler enforces its own request limit with a 413 it explains.
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.AddServerHeader = false;
        });
        builder.Services.AddAwsFunction(settings);
        var app = builder.Build();
        app.MapOpenInference();
        return app;
    }

    public static async Task<int> RunAsync(FunctionSettings settings, string[] args)
    {
        await using var app = Build(settings, args);
        await FunctionServices.WarmUpAsync(app.Services, CancellationToken.None).ConfigureAwait(false);
        var models = settings.Bucket is { } bucket ? $"s3://{bucket}/{LambdaContract.ModelsPrefix}" : settings.ModelDirectory;
        LogServing(app.Logger, settings.Port, models);
        await app.RunAsync().ConfigureAwait(false);
        return 0;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Serving the Open Inference Protocol on http://127.0.0.1:{Port}/v2 with models from {Models}")]
    private static partial void LogServing(ILogger logger, int port, string models);
}

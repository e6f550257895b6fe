using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serverless.Inference.Hosting;
using Serverless.Inference.Protocol;

namespace Serverless.Inference.Grpc;

public static class OpenInferenceGrpcEndpoints
{
    /// <summary>
    /// Larger answers are refused rather than sent: far above any model here (ResNet18 answers 4 KB), and a client
    /// receives 4 MB by default, so one that asks for more has raised its own limit on purpose.
    /// </summary>
    internal const int MaxSendMessageBytes = 64 * 1024 * 1024;

    /// <summary>Adds the gRPC service over the host's <see cref="ModelHost"/>; requests obey its <see cref="RequestLimits"/>.</summary>
    public static IServiceCollection AddOpenInferenceGrpc(this IServiceCollection services)
    {
        services.AddGrpc();
        services.AddOptions<GrpcServiceOptions>().Configure<RequestLimits>((options, limits) =>
        {
            // The whole request message, as REST's limit is the whole body.
            options.MaxReceiveMessageSize = limits.MaxRequestBytes;
            options.MaxSendMessageSize = MaxSendMessageBytes;
        });
        services.AddSingleton(provider => new GrpcErrors(provider.GetRequiredService<ILogger<GrpcErrors>>()));
        // One instance, so the readiness answer it remembers is shared by every call.
        services.AddSingleton(provider => new GrpcInferenceService(
            provider.GetRequiredService<ModelHost>(),
            provider.GetRequiredService<GrpcErrors>(),
            provider.GetService<TimeProvider>() ?? TimeProvider.System));
        return services;
    }

    /// <summary>Serves <c>inference.GRPCInferenceService</c>; <paramref name="port"/> keeps it to that endpoint.</summary>
    public static IEndpointConventionBuilder MapOpenInferenceGrpc(this IEndpointRouteBuilder endpoints, int? port = null)
    {
        var service = endpoints.MapGrpcService<GrpcInferenceService>();
        return port is { } only ? service.RequireHost($"*:{only}") : service;
    }
}

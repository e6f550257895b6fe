using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Serverless.Inference.AspNetCore;
using Serverless.Inference.Protocol;

namespace Serverless.Functions.Azure.Http;

/// <summary>
/// The Open Inference Protocol at <c>/v2/...</c> (host.json's routePrefix is <c>v2</c>). The request path the worker
/// sees is the path the client sent, prefix included, so the core's router gets it unchanged. Health probes are
/// anonymous (a platform or load-balancer probe carries no function key and they reveal nothing but up/ready);
/// everything else needs a function key in Azure.
/// </summary>
public sealed class OpenInferenceFunctions(OpenInferenceHandler handler)
{
    public const string LiveFunction = "HealthLive";
    public const string ReadyFunction = "HealthReady";
    public const string ProtocolFunction = "OpenInference";

    [Function(LiveFunction)]
    public Task LiveAsync([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "health/live")] HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return handler.HandleAsync(request.HttpContext);
    }

    [Function(ReadyFunction)]
    public Task ReadyAsync([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "health/ready")] HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return handler.HandleAsync(request.HttpContext);
    }

    /// <summary>Server metadata, model metadata and readiness, and inference: the core routes and answers every one.</summary>
    [Function(ProtocolFunction)]
    public Task ProtocolAsync([HttpTrigger(AuthorizationLevel.Function, "get", "post", Route = "{*path}")] HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return handler.HandleAsync(request.HttpContext);
    }
}

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Inference.Protocol;

namespace Serverless.Inference.AspNetCore;

public static class OpenInferenceEndpoints
{
    /// <summary>Serves every Open Inference Protocol route under <c>/v2</c>.</summary>
    public static IEndpointConventionBuilder MapOpenInference(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var handler = endpoints.ServiceProvider.GetRequiredService<OpenInferenceHandler>();
        return endpoints.Map("/v2/{**path}", context => handler.HandleAsync(context));
    }

    /// <summary>Answers one ASP.NET Core request with the protocol handler; the body is streamed, never buffered twice.</summary>
    public static async Task HandleAsync(this OpenInferenceHandler handler, HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentNullException.ThrowIfNull(context);
        var request = context.Request;
        var headers = request.Headers;
        var oipRequest = new OipHttpRequest(
            request.Method,
            request.Path.Value ?? "/",
            name => headers.TryGetValue(name, out var value) ? value.ToString() : null,
            new TransportErrorStream(request.Body),
            request.ContentLength);

        using var response = await handler.HandleAsync(oipRequest, context.RequestAborted).ConfigureAwait(false);
        await WriteAsync(response, context.Response, context.RequestAborted).ConfigureAwait(false);
    }

    internal static async Task WriteAsync(OipHttpResponse response, HttpResponse target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        ArgumentNullException.ThrowIfNull(target);
        target.StatusCode = response.StatusCode;
        target.ContentType = response.ContentType;
        foreach (var (name, value) in response.Headers)
        {
            target.Headers[name] = value;
        }

        target.ContentLength = response.Body.Length;
        await target.Body.WriteAsync(response.Body, cancellationToken).ConfigureAwait(false);
    }
}

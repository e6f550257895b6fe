using System.Text.Json;
using Microsoft.Extensions.Logging;
using Serverless.Inference.Hosting;

namespace Serverless.Inference.Protocol;

/// <summary>
/// Triton's model repository extension: the index everywhere, load and unload only where
/// <see cref="RequestLimits.ModelControl"/> is on (the local server).
/// </summary>
internal sealed partial class RepositoryRoutes(ModelHost host, RequestLimits limits, ILogger logger)
{
    public async Task<OipHttpResponse> IndexAsync(ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        var readyOnly = false;
        using (var request = ParseObject(body, "repository index"))
        {
            if (request?.RootElement.TryGetProperty("ready", out var ready) == true)
            {
                readyOnly = ready.ValueKind switch
                {
                    JsonValueKind.True => true,
                    JsonValueKind.False => false,
                    _ => throw InferenceException.BadRequest("invalid value for 'ready': expected a boolean"),
                };
            }
        }

        var models = await host.ListAsync(cancellationToken).ConfigureAwait(false);
        var writer = new PooledBufferWriter(1024);
        RepositoryIndexWriter.Write(writer, models, readyOnly);
        return new OipHttpResponse(200, OipHeaders.Json, writer, []);
    }

    /// <summary>Loads the model's default version now, so the first request does not wait for it.</summary>
    public async Task<OipHttpResponse> LoadAsync(string model, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        if (Refused(model, "load") is { } refused)
        {
            return refused;
        }

        using (var request = ParseObject(body, "load"))
        {
            if (request?.RootElement.TryGetProperty("parameters", out var parameters) == true
                && parameters.ValueKind == JsonValueKind.Object
                && parameters.EnumerateObject().Any(p => p.Name == "config" || p.Name.StartsWith("file:", StringComparison.Ordinal)))
            {
                throw InferenceException.BadRequest("a load with a model configuration or files in the request is not supported; models load from the repository");
            }
        }

        using var lease = await host.AcquireAsync(model, null, cancellationToken).ConfigureAwait(false);
        LogLoaded(logger, lease.Name, lease.Version);
        return new OipHttpResponse(200, OipHeaders.Json, null, []);
    }

    /// <summary>Releases every loaded version; requests in flight finish first, and the next request loads it again.</summary>
    public async Task<OipHttpResponse> UnloadAsync(string model, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        if (Refused(model, "unload") is { } refused)
        {
            return refused;
        }

        // Parsed only to refuse what is not JSON; unload_dependents has nothing to act on, as models here have no dependents.
        using (ParseObject(body, "unload"))
        {
        }

        await host.ListVersionsAsync(model, cancellationToken).ConfigureAwait(false);
        var wasLoaded = host.Unload(model);
        LogUnloaded(logger, model, wasLoaded);
        return new OipHttpResponse(200, OipHeaders.Json, null, []);
    }

    private OipHttpResponse? Refused(string model, string action) => limits.ModelControl
        ? null
        : OpenInferenceHandler.Error(
            403,
            $"cannot {action} model '{model}': model control is off on this host; models load on first use and are released when memory is needed");

    private JsonDocument? ParseObject(ReadOnlyMemory<byte> body, string what)
    {
        if (body.Span.Trim(" \t\r\n"u8).IsEmpty)
        {
            return null;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = limits.MaxJsonDepth });
        }
        catch (JsonException e)
        {
            throw new InferenceException(InferenceErrorKind.BadRequest, $"the {what} request is not valid JSON: {e.Message}", e);
        }

        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            throw InferenceException.BadRequest($"the {what} request must be a JSON object");
        }

        return document;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model} version {Version} loaded on request")]
    private static partial void LogLoaded(ILogger logger, string model, string version);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model} unloaded on request (it was loaded: {WasLoaded})")]
    private static partial void LogUnloaded(ILogger logger, string model, bool wasLoaded);
}

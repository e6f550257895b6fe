using System.Text;
using Serverless.Inference.Hosting;
using Serverless.Inference.Protocol;
using Serverless.Inference.Repository;

namespace Serverless.Inference.Tests.Support;

/// <summary>
/// An <see cref="OpenInferenceHandler"/> over a model repository folder with no transport in between:
/// requests go straight to <see cref="OpenInferenceHandler.HandleAsync"/>.
/// </summary>
public sealed class OipHandlerHarness : IDisposable
{
    public OipHandlerHarness(string repository, RequestLimits? limits = null)
    {
        Limits = limits ?? new RequestLimits();
        Host = new ModelHost(new LocalFolderModelStore(repository), new ModelHostOptions { DefaultIntraOpThreads = 1 });
        Handler = new OpenInferenceHandler(Host, Limits);
    }

    public ModelHost Host { get; }

    public OpenInferenceHandler Handler { get; }

    public RequestLimits Limits { get; }

    public Task<OipReply> GetAsync(string path) => SendAsync("GET", path);

    public Task<OipReply> InferAsync(string model, string json) =>
        SendAsync("POST", $"/v2/models/{model}/infer", Encoding.UTF8.GetBytes(json));

    /// <param name="contentLength">The declared length; the body's own length when null, and unknown (chunked) when -1.</param>
    public async Task<OipReply> SendAsync(
        string method,
        string path,
        byte[]? body = null,
        IReadOnlyDictionary<string, string>? headers = null,
        long? contentLength = null,
        CancellationToken cancellationToken = default)
    {
        body ??= [];
        using var stream = new MemoryStream(body, writable: false);
        var request = new OipHttpRequest(
            method,
            path,
            name => headers is not null && headers.TryGetValue(name, out var value) ? value : null,
            stream,
            contentLength switch { null => body.Length, -1 => null, var declared => declared });
        using var response = await Handler.HandleAsync(request, cancellationToken);
        var replyHeaders = response.Headers.ToDictionary(h => h.Key, h => h.Value, StringComparer.OrdinalIgnoreCase);
        return new OipReply(response.StatusCode, response.ContentType, replyHeaders, response.Body.ToArray());
    }

    public void Dispose() => Host.Dispose();
}

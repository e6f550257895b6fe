using System.Collections.Concurrent;
using System.Net;
using Azure.Core;
using Azure.Core.Pipeline;

namespace Serverless.Functions.Azure.Tests.Support;

/// <summary>A request as the client sent it: method, URI and headers (names lower-cased).</summary>
public sealed record RecordedRequest(string Method, Uri Uri, IReadOnlyDictionary<string, string> Headers, string Body = "")
{
    public string? Header(string name) => Headers.GetValueOrDefault(name.ToLowerInvariant());

    /// <summary>A query parameter, decoded.</summary>
    public string? Query(string name) =>
        System.Web.HttpUtility.ParseQueryString(Uri.Query)[name];
}

/// <summary>Records every request a client sends, after the SDK has signed it: added as a per-retry policy.</summary>
public sealed class RequestRecorder : HttpPipelineSynchronousPolicy
{
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();

    public IReadOnlyList<RecordedRequest> Requests => [.. _requests];

    public override void OnSendingRequest(HttpMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var headers = message.Request.Headers.ToDictionary(h => h.Name.ToLowerInvariant(), h => h.Value, StringComparer.Ordinal);
        _requests.Enqueue(new RecordedRequest(message.Request.Method.ToString(), message.Request.Uri.ToUri(), headers));
    }
}

/// <summary>
/// A Blob service that answers in memory, for what Azurite cannot show (OAuth-authorised copy sources, parts of
/// gigabytes): blobs do not exist (HEAD 404), blocks and block lists are accepted (201). Requests are recorded.
/// </summary>
public sealed class AcceptingBlobHandler : HttpMessageHandler
{
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();

    public IReadOnlyList<RecordedRequest> Requests => [.. _requests];

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var headers = request.Headers.Concat(request.Content?.Headers ?? Enumerable.Empty<KeyValuePair<string, IEnumerable<string>>>())
            .ToDictionary(h => h.Key.ToLowerInvariant(), h => string.Join(",", h.Value), StringComparer.Ordinal);
        var body = request.Content is null ? "" : await request.Content.ReadAsStringAsync(cancellationToken);
        _requests.Enqueue(new RecordedRequest(request.Method.Method, request.RequestUri!, headers, body));
        var response = request.Method == HttpMethod.Head
            ? new HttpResponseMessage(HttpStatusCode.NotFound)
            : new HttpResponseMessage(HttpStatusCode.Created);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            response.Headers.Add("x-ms-error-code", "BlobNotFound");
        }

        response.Headers.ETag = new System.Net.Http.Headers.EntityTagHeaderValue("\"0x8DD000000000001\"");
        response.Headers.Add("x-ms-request-id", Guid.NewGuid().ToString());
        response.Headers.Add("x-ms-version", "2026-06-06");
        response.Content = new ByteArrayContent([]);
        response.Content.Headers.LastModified = DateTimeOffset.UtcNow;
        return response;
    }

    public HttpPipelineTransport Transport() => new HttpClientTransport(new HttpClient(this));
}

/// <summary>A credential that hands out one fixed token and remembers the scopes it was asked for.</summary>
public sealed class FixedTokenCredential(string token) : TokenCredential
{
    private readonly ConcurrentQueue<string[]> _scopes = new();

    public IReadOnlyList<string[]> Scopes => [.. _scopes];

    public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
    {
        _scopes.Enqueue(requestContext.Scopes);
        return new AccessToken(token, DateTimeOffset.UtcNow.AddHours(1));
    }

    public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
        new(GetToken(requestContext, cancellationToken));
}

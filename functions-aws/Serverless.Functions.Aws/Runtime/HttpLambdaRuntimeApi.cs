using System.Globalization;
using System.Net.Http.Headers;

namespace Serverless.Functions.Aws.Runtime;

/// <summary>The Runtime API over HTTP at <c>http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/</c>.</summary>
internal sealed class HttpLambdaRuntimeApi : ILambdaRuntimeApi, IDisposable
{
    private static readonly MediaTypeHeaderValue JsonContentType = new("application/json");
    private static readonly MediaTypeHeaderValue ErrorContentType = new(LambdaError.ContentType);

    private readonly HttpClient _http;

    public HttpLambdaRuntimeApi(string endpoint)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(endpoint);
        // next is a long poll that lasts until an event arrives: no client-side timeout may cut it.
        _http = new HttpClient(new SocketsHttpHandler { UseProxy = false, PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan })
        {
            BaseAddress = new Uri($"http://{endpoint}/2018-06-01/"),
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    public async Task<LambdaInvocation> NextAsync(CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync("runtime/invocation/next", HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, "next", cancellationToken).ConfigureAwait(false);
        var requestId = Header(response, "Lambda-Runtime-Aws-Request-Id")
            ?? throw new LambdaRuntimeApiException(500, "the Runtime API sent an invocation without Lambda-Runtime-Aws-Request-Id");
        var deadline = long.TryParse(Header(response, "Lambda-Runtime-Deadline-Ms"), NumberStyles.None, CultureInfo.InvariantCulture, out var ms)
            ? DateTimeOffset.FromUnixTimeMilliseconds(ms)
            : (DateTimeOffset?)null;
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        return new LambdaInvocation(
            requestId,
            deadline,
            Header(response, "Lambda-Runtime-Invoked-Function-Arn"),
            Header(response, "Lambda-Runtime-Trace-Id"),
            Header(response, "Lambda-Runtime-Client-Context"),
            Header(response, "Lambda-Runtime-Cognito-Identity"),
            body);
    }

    public async Task PostResponseAsync(string requestId, ReadOnlyMemory<byte> response, CancellationToken cancellationToken)
    {
        using var content = new ReadOnlyMemoryContent(response);
        content.Headers.ContentType = JsonContentType;
        await PostAsync($"runtime/invocation/{Uri.EscapeDataString(requestId)}/response", content, "response", cancellationToken).ConfigureAwait(false);
    }

    public async Task PostErrorAsync(string requestId, LambdaError error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(error);
        using var content = ErrorContent(error);
        await PostAsync($"runtime/invocation/{Uri.EscapeDataString(requestId)}/error", content, "error", cancellationToken).ConfigureAwait(false);
    }

    public async Task PostInitErrorAsync(LambdaError error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(error);
        using var content = ErrorContent(error);
        await PostAsync("runtime/init/error", content, "init/error", cancellationToken).ConfigureAwait(false);
    }

    public void Dispose() => _http.Dispose();

    private static ByteArrayContent ErrorContent(LambdaError error)
    {
        var content = new ByteArrayContent(error.ToJson());
        content.Headers.ContentType = ErrorContentType;
        content.Headers.TryAddWithoutValidation(LambdaError.ErrorTypeHeader, error.ErrorType);
        return content;
    }

    private async Task PostAsync(string path, HttpContent content, string what, CancellationToken cancellationToken)
    {
        using var response = await _http.PostAsync(path, content, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, what, cancellationToken).ConfigureAwait(false);
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var detail = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        var status = (int)response.StatusCode;
        throw new LambdaRuntimeApiException(status, $"the Runtime API answered {what} with {status}: {detail[..Math.Min(detail.Length, 500)]}");
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;
}

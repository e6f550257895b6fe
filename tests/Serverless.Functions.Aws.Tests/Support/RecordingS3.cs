using System.Collections.Concurrent;
using Amazon.Runtime;
using Amazon.S3;

namespace Serverless.Functions.Aws.Tests.Support;

/// <summary>One S3 request as it went over the wire, and how many body bytes came back.</summary>
public sealed record S3Call(string Method, string Path, string Query, bool CopySource, string? Range, long ResponseBytes)
{
    public bool Has(string parameter) => Query.Split('&', StringSplitOptions.RemoveEmptyEntries).Any(p => p == parameter || p.StartsWith(parameter + "=", StringComparison.Ordinal));

    public bool IsUploadPartCopy => Method == "PUT" && Has("uploadId") && CopySource;

    public bool IsUploadPart => Method == "PUT" && Has("uploadId") && !CopySource;

    public bool IsCreateMultipartUpload => Method == "POST" && Has("uploads");

    public bool IsCompleteMultipartUpload => Method == "POST" && Has("uploadId");

    public bool IsPutObject => Method == "PUT" && !Has("uploadId");

    /// <summary>A GET of an object (not a listing).</summary>
    public bool IsGetObject => Method == "GET" && !Has("list-type") && !Has("uploads");
}

/// <summary>
/// An S3 client for moto whose HTTP requests are recorded, so a test can tell a server-side copy from a download.
/// <see cref="BeforeSend"/> runs before a request leaves, to change the world at an exact moment.
/// </summary>
public sealed class RecordingS3 : IDisposable
{
    private readonly ConcurrentQueue<S3Call> _calls = new();

    public RecordingS3(MotoServer moto)
    {
        ArgumentNullException.ThrowIfNull(moto);
        Client = new AmazonS3Client(MotoServer.Credentials, new AmazonS3Config
        {
            ServiceURL = moto.ServiceUrl,
            ForcePathStyle = true,
            AuthenticationRegion = MotoServer.Region,
            HttpClientFactory = new Factory(this),
        });
    }

    public AmazonS3Client Client { get; }

    public Func<HttpRequestMessage, Task>? BeforeSend { get; set; }

    public IReadOnlyList<S3Call> Calls => [.. _calls];

    public void Clear() => _calls.Clear();

    public void Dispose() => Client.Dispose();

    private sealed class Factory(RecordingS3 owner) : HttpClientFactory
    {
        public override HttpClient CreateHttpClient(IClientConfig clientConfig) => new(new Recorder(owner, new HttpClientHandler()));

        public override bool UseSDKHttpClientCaching(IClientConfig clientConfig) => false;

        public override bool DisposeHttpClientsAfterUse(IClientConfig clientConfig) => false;
    }

    private sealed class Recorder(RecordingS3 owner, HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (owner.BeforeSend is { } before)
            {
                await before(request);
            }

            var response = await base.SendAsync(request, cancellationToken);
            var range = request.Headers.TryGetValues("Range", out var ranges) ? string.Join(",", ranges) : null;
            owner._calls.Enqueue(new S3Call(
                request.Method.Method,
                request.RequestUri!.AbsolutePath,
                request.RequestUri.Query.TrimStart('?'),
                request.Headers.Contains("x-amz-copy-source"),
                range,
                response.Content.Headers.ContentLength ?? 0));
            return response;
        }
    }
}

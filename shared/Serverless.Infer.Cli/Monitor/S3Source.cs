using System.Runtime.CompilerServices;
using Amazon.S3;
using Amazon.S3.Model;

namespace Serverless.Infer.Cli.Monitor;

/// <summary>
/// The objects under an S3 prefix (<c>s3://bucket/capture/iris/1/2026/12/01/</c>), listed page by page and streamed.
/// Credentials come from the SDK's default chain; an endpoint (--endpoint or AWS_ENDPOINT_URL_S3) means an
/// S3-compatible server such as moto, addressed path-style.
/// </summary>
internal sealed class S3Source(IAmazonS3 s3, string bucket, string prefix) : ICaptureSource
{
    public static S3Source FromUrl(Uri url, string? endpoint)
    {
        var config = new AmazonS3Config();
        endpoint ??= Environment.GetEnvironmentVariable("AWS_ENDPOINT_URL_S3") is { Length: > 0 } configured ? configured : null;
        if (endpoint is not null)
        {
            config.ServiceURL = endpoint;
            config.ForcePathStyle = true;
            config.AuthenticationRegion = Environment.GetEnvironmentVariable("AWS_REGION") is { Length: > 0 } region ? region : "us-east-1";
        }

        return new S3Source(new AmazonS3Client(config), url.Host, Uri.UnescapeDataString(url.AbsolutePath.TrimStart('/')));
    }

    public async IAsyncEnumerable<CaptureObject> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var request = new ListObjectsV2Request { BucketName = bucket, Prefix = prefix };
        do
        {
            var page = await s3.ListObjectsV2Async(request, cancellationToken);
            foreach (var entry in page.S3Objects ?? [])
            {
                if (CaptureObject.IsReadable(entry.Key))
                {
                    var key = entry.Key;
                    yield return new CaptureObject(key, async token => (await s3.GetObjectAsync(bucket, key, token)).ResponseStream);
                }
            }

            request.ContinuationToken = page.NextContinuationToken;
        }
        while (!string.IsNullOrEmpty(request.ContinuationToken));
    }
}

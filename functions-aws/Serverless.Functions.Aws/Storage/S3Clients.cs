using Amazon;
using Amazon.S3;

namespace Serverless.Functions.Aws.Storage;

internal static class S3Clients
{
    /// <summary>
    /// A client for the function's region, or for an S3-compatible endpoint (moto, LocalStack) when one is set;
    /// those need path-style addressing. Credentials come from the default chain: the function's IAM role on Lambda.
    /// </summary>
    public static AmazonS3Client Create(FunctionSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var config = new AmazonS3Config();
        if (settings.S3ServiceUrl is { } serviceUrl)
        {
            config.ServiceURL = serviceUrl;
            config.ForcePathStyle = true;
            if (settings.Region is { } region)
            {
                config.AuthenticationRegion = region;
            }
        }
        else if (settings.Region is { } region)
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(region);
        }

        return new AmazonS3Client(config);
    }

    /// <summary>ETags come quoted; the quotes are no part of the identity.</summary>
    public static string Identity(string? eTag, string key) =>
        string.IsNullOrEmpty(eTag) ? throw new InvalidOperationException($"S3 returned no ETag for '{key}'") : eTag.Trim('"');
}

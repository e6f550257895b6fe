using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Serverless.Inference;
using Serverless.Inference.Repository;

namespace Serverless.Functions.Aws.Storage;

/// <summary>
/// A model repository under a prefix of an S3 bucket (<c>models/&lt;name&gt;/model.json</c>,
/// <c>models/&lt;name&gt;/&lt;version&gt;/model.onnx</c>). A file's identity is its ETag; the model host copies each
/// file once into its artifact cache under <c>/tmp</c> and loads it from there. A download sends <c>If-Match</c> with the
/// ETag its stat saw, so the bytes cached are the ones the identity names (as the Blob model store does).
/// </summary>
internal sealed class S3ModelStore(IAmazonS3 s3, string bucket, string prefix = LambdaContract.ModelsPrefix) : IModelStore
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _seen = new(StringComparer.Ordinal);

    public string Description => $"s3://{bucket}/{prefix}";

    public async Task<IReadOnlyList<string>> ListModelsAsync(CancellationToken cancellationToken)
    {
        var names = new List<string>();
        foreach (var name in await ListFoldersAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            if (await StatAsync(ModelFilePath.Manifest(name), cancellationToken).ConfigureAwait(false) is not null)
            {
                names.Add(name);
            }
        }

        return [.. names.Order(StringComparer.Ordinal)];
    }

    public async Task<IReadOnlyList<string>> ListVersionsAsync(string model, CancellationToken cancellationToken)
    {
        var folder = $"{prefix}{ModelNames.Require(model, "model name")}/";
        var versions = new List<string>();
        foreach (var version in await ListFoldersAsync(folder, cancellationToken).ConfigureAwait(false))
        {
            if (await StatAsync(ModelFilePath.Onnx(model, version), cancellationToken).ConfigureAwait(false) is not null)
            {
                versions.Add(version);
            }
        }

        return versions;
    }

    public async Task<StoredFile?> StatAsync(ModelFilePath path, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(path);
        var key = prefix + path;
        try
        {
            var metadata = await s3.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = bucket, Key = key }, cancellationToken).ConfigureAwait(false);
            var identity = S3Clients.Identity(metadata.ETag, key);
            _seen[key] = identity;
            return new StoredFile(path, identity, metadata.ContentLength);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException)
        {
            throw Unavailable(e);
        }
    }

    public async Task<Stream> OpenReadAsync(ModelFilePath path, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(path);
        var key = prefix + path;
        try
        {
            var request = new GetObjectRequest { BucketName = bucket, Key = key };
            if (_seen.TryGetValue(key, out var etag))
            {
                request.EtagToMatch = $"\"{etag}\"";
            }

            var response = await s3.GetObjectAsync(request, cancellationToken).ConfigureAwait(false);
            return response.ResponseStream;
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.PreconditionFailed)
        {
            throw new InferenceException(InferenceErrorKind.Unavailable, $"{path} changed while it was being loaded; the next request loads the new content", e) { Detail = Description };
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException)
        {
            throw Unavailable(e);
        }
    }

    /// <summary>The valid names of the "folders" right under a prefix (ListObjectsV2 with a '/' delimiter).</summary>
    private async Task<List<string>> ListFoldersAsync(string parent, CancellationToken cancellationToken)
    {
        var folders = new List<string>();
        var request = new ListObjectsV2Request { BucketName = bucket, Prefix = parent, Delimiter = "/" };
        try
        {
            ListObjectsV2Response page;
            do
            {
                page = await s3.ListObjectsV2Async(request, cancellationToken).ConfigureAwait(false);
                folders.AddRange((page.CommonPrefixes ?? [])
                    .Select(common => common[parent.Length..].TrimEnd('/'))
                    .Where(ModelNames.IsValid));
                request.ContinuationToken = page.NextContinuationToken;
            }
            while (page.IsTruncated == true);
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException)
        {
            throw Unavailable(e);
        }

        return folders;
    }

    private InferenceException Unavailable(Exception e) =>
        new(InferenceErrorKind.Unavailable, "the model repository cannot be read", e) { Detail = $"{Description}: {e.Message}" };
}

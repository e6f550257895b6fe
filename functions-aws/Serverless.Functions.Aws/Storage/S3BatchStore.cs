using System.Net;
using Amazon.S3;
using Amazon.S3.Model;
using Serverless.Inference.Batch;

namespace Serverless.Functions.Aws.Storage;

/// <summary>
/// The batch layout in an S3 bucket. Identity is the object's ETag, so the same content dropped again is
/// recognised as already scored. Create-only writes use <c>If-None-Match: *</c>, which S3 answers with 412
/// when the key exists: two racing invocations cannot both publish.
/// </summary>
internal sealed class S3BatchStore(IAmazonS3 s3, string bucket) : IBatchStore
{
    public string Description => $"s3://{bucket}";

    public async Task<BatchObject?> StatAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            var metadata = await s3.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = bucket, Key = key }, cancellationToken).ConfigureAwait(false);
            return new BatchObject(key, S3Clients.Identity(metadata.ETag, key), metadata.ContentLength);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>The object's body as S3 streams it; nothing is buffered.</summary>
    public async Task<Stream> OpenReadAsync(string key, CancellationToken cancellationToken)
    {
        var response = await s3.GetObjectAsync(new GetObjectRequest { BucketName = bucket, Key = key }, cancellationToken).ConfigureAwait(false);
        return response.ResponseStream;
    }

    public async Task<bool> CreateAsync(string key, Stream content, CancellationToken cancellationToken)
    {
        var request = new PutObjectRequest
        {
            BucketName = bucket,
            Key = key,
            InputStream = content,
            AutoCloseStream = false,
            IfNoneMatch = "*",
        };
        try
        {
            await s3.PutObjectAsync(request, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (AmazonS3Exception e) when (IsTaken(e))
        {
            return false;
        }
    }

    public async Task WriteAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        using var body = new MemoryStream(content.ToArray(), writable: false);
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = key, InputStream = body }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<string> MoveAsync(string from, string to, CancellationToken cancellationToken)
    {
        var destination = to;
        if (await StatAsync(to, cancellationToken).ConfigureAwait(false) is not null || !await TryCopyAsync(from, to, cancellationToken).ConfigureAwait(false))
        {
            destination = $"{to}.{Guid.NewGuid():N}";
            if (!await TryCopyAsync(from, destination, cancellationToken).ConfigureAwait(false))
            {
                // Never delete the source without a copy in place.
                throw new IOException($"could not move {from}: {destination} is taken");
            }
        }

        await s3.DeleteObjectAsync(new DeleteObjectRequest { BucketName = bucket, Key = from }, cancellationToken).ConfigureAwait(false);
        return destination;
    }

    private async Task<bool> TryCopyAsync(string from, string to, CancellationToken cancellationToken)
    {
        var request = new CopyObjectRequest
        {
            SourceBucket = bucket,
            SourceKey = from,
            DestinationBucket = bucket,
            DestinationKey = to,
            IfNoneMatch = "*",
        };
        try
        {
            await s3.CopyObjectAsync(request, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (AmazonS3Exception e) when (IsTaken(e))
        {
            return false;
        }
    }

    /// <summary>412: the key exists. 409: a racing conditional write to the key is in flight and will hold it.</summary>
    private static bool IsTaken(AmazonS3Exception e) => e.StatusCode is HttpStatusCode.PreconditionFailed or HttpStatusCode.Conflict;
}

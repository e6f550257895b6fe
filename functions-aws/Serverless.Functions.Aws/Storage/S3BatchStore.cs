using System.Net;
using System.Runtime.CompilerServices;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Serverless.Inference.Batch;
using Serverless.Inference.Repository;

namespace Serverless.Functions.Aws.Storage;

/// <summary>
/// The batch layout in an S3 bucket. Identity is the object's ETag: reads send <c>If-Match</c> with the ETag that was
/// stat'ed, deletes too (S3's conditional delete), and create-only writes <c>If-None-Match: *</c>, which S3 answers with
/// 412 when the key exists. Every SDK failure comes out as a <see cref="BatchStoreException"/>.
/// </summary>
/// <param name="workDirectory">Where runs of small parts are staged while composing (default: the temporary folder, /tmp on Lambda).</param>
internal sealed partial class S3BatchStore(IAmazonS3 s3, string bucket, string? workDirectory = null) : IBatchStore
{
    /// <summary>S3's limit on a key.</summary>
    private const int MaxKeyBytes = 1024;

    private static readonly System.Text.UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public string Description => $"s3://{bucket}";

    public async Task<BatchObject?> StatAsync(string key, CancellationToken cancellationToken)
    {
        Check(key);
        try
        {
            var metadata = await s3.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = bucket, Key = key }, cancellationToken).ConfigureAwait(false);
            return new BatchObject(key, S3Clients.Identity(metadata.ETag, key), metadata.ContentLength, LastModified(metadata.LastModified));
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        catch (Exception e) when (Failure("read", key, e, cancellationToken) is { } failure)
        {
            throw failure;
        }
    }

    /// <summary>The object's body as S3 streams it, nothing buffered; <c>If-Match</c> pins it to the stat'ed ETag.</summary>
    public async Task<Stream> OpenReadAsync(BatchObject pinned, long offset, long? length, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pinned);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        Check(pinned.Key);
        var etag = $"\"{pinned.Identity}\"";
        try
        {
            var start = Math.Min(offset, pinned.Length);
            var count = Math.Min(length ?? long.MaxValue, pinned.Length - start);
            if (count <= 0 && start > 0 || length == 0)
            {
                // No bytes to read, and S3 answers 416 to an empty range: the pin is still checked.
                await s3.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = bucket, Key = pinned.Key, EtagToMatch = etag }, cancellationToken).ConfigureAwait(false);
                return new MemoryStream([], writable: false);
            }

            var request = new GetObjectRequest { BucketName = bucket, Key = pinned.Key, EtagToMatch = etag };
            if (start > 0 || length is not null)
            {
                request.ByteRange = new ByteRange(start, start + count - 1);
            }

            var response = await s3.GetObjectAsync(request, cancellationToken).ConfigureAwait(false);
            return new BatchReadStream(response.ResponseStream, e => Failure("read", pinned.Key, e, cancellationToken, pinned), owner: response);
        }
        catch (Exception e) when (Failure("read", pinned.Key, e, cancellationToken, pinned) is { } failure)
        {
            throw failure;
        }
    }

    public async Task<bool> CreateAsync(string key, Stream content, CancellationToken cancellationToken)
    {
        Check(key);
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
        catch (Exception e) when (Failure("write", key, e, cancellationToken) is { } failure)
        {
            throw failure;
        }
    }

    public async Task WriteAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        Check(key);
        using var body = new MemoryStream(content.ToArray(), writable: false);
        try
        {
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = key, InputStream = body }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (Failure("write", key, e, cancellationToken) is { } failure)
        {
            throw failure;
        }
    }

    /// <summary>S3's conditional delete: <c>If-Match</c> with the pinned ETag; 412 (or 404) when the object changed or is gone.</summary>
    public async Task<bool> DeleteAsync(BatchObject pinned, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pinned);
        Check(pinned.Key);
        try
        {
            await s3.DeleteObjectAsync(new DeleteObjectRequest { BucketName = bucket, Key = pinned.Key, IfMatch = $"\"{pinned.Identity}\"" }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (AmazonS3Exception e) when (e.StatusCode is HttpStatusCode.PreconditionFailed or HttpStatusCode.NotFound)
        {
            return false;
        }
        catch (Exception e) when (Failure("delete", pinned.Key, e, cancellationToken) is { } failure)
        {
            throw failure;
        }
    }

    public async IAsyncEnumerable<BatchObject> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        if (!prefix.EndsWith('/'))
        {
            throw new ArgumentException("a prefix is a folder ending in '/'", nameof(prefix));
        }

        var request = new ListObjectsV2Request { BucketName = bucket, Prefix = prefix };
        ListObjectsV2Response page;
        do
        {
            try
            {
                page = await s3.ListObjectsV2Async(request, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (Failure("list", prefix, e, cancellationToken) is { } failure)
            {
                throw failure;
            }

            foreach (var item in page.S3Objects ?? [])
            {
                yield return new BatchObject(item.Key, S3Clients.Identity(item.ETag, item.Key), item.Size ?? 0, LastModified(item.LastModified));
            }

            request.ContinuationToken = page.NextContinuationToken;
        }
        while (page.IsTruncated == true);
    }

    /// <summary>S3 takes any valid Unicode key up to 1,024 UTF-8 bytes, '..' and doubled '/' included, as an opaque name.</summary>
    private static void Check(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        int bytes;
        try
        {
            bytes = StrictUtf8.GetByteCount(key);
        }
        catch (System.Text.EncoderFallbackException)
        {
            bytes = -1;
        }

        if (bytes is <= 0 or > MaxKeyBytes)
        {
            throw new BatchStoreException($"'{ModelNames.Printable(key)}' is not a key S3 can hold: empty, not valid Unicode, or over {MaxKeyBytes} UTF-8 bytes") { KeyRefused = true };
        }
    }

    private static DateTimeOffset LastModified(DateTime? time) =>
        time is { } value ? new DateTimeOffset(value.Kind == DateTimeKind.Local ? value.ToUniversalTime() : DateTime.SpecifyKind(value, DateTimeKind.Utc), TimeSpan.Zero) : DateTimeOffset.MinValue;

    /// <summary>412: the key exists. 409: a racing conditional write to the key is in flight and will hold it.</summary>
    private static bool IsTaken(AmazonS3Exception e) => e.StatusCode is HttpStatusCode.PreconditionFailed or HttpStatusCode.Conflict;

    /// <summary>
    /// Every SDK failure as the store's exception, so the runner's accounting sees one family; cancellation through the
    /// token passes. A 412 or 404 on a pinned object means it changed or vanished.
    /// </summary>
    private BatchStoreException? Failure(string what, string key, Exception e, CancellationToken cancellationToken, BatchObject? pinned = null) => e switch
    {
        BatchStoreException => null,
        OperationCanceledException when cancellationToken.IsCancellationRequested => null,
        AmazonS3Exception { StatusCode: HttpStatusCode.PreconditionFailed or HttpStatusCode.NotFound } when pinned is not null => BatchObjectChangedException.For(pinned, e),
        AmazonS3Exception s3Error => new BatchStoreException($"could not {what} '{key}': {(int)s3Error.StatusCode} {s3Error.ErrorCode}", e) { Detail = $"{Description}: {e.Message}" },
        AmazonServiceException or AmazonClientException or HttpRequestException or IOException or OperationCanceledException =>
            new BatchStoreException($"could not {what} '{key}': S3 cannot be reached", e) { Detail = $"{Description}: {e.Message}" },
        _ => null,
    };
}

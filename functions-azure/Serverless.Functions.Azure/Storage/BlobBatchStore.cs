using System.Collections.Concurrent;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Serverless.Inference;
using Serverless.Inference.Batch;
using Serverless.Inference.Repository;

namespace Serverless.Functions.Azure.Storage;

/// <summary>
/// The batch layout in one storage account: a key's first segment is the container (<c>incoming</c>,
/// <c>outgoing</c>, <c>failed</c>), the rest is the blob name. Identity is the ETag. Reads stream and are pinned
/// to the ETag last seen by <see cref="StatAsync"/>, so the bytes scored are the bytes the identity names.
/// Create-only writes send <c>If-None-Match: *</c>, so two racing invocations publish one result.
/// </summary>
internal sealed class BlobBatchStore(BlobServiceClient service) : IBatchStore
{
    private readonly ConcurrentDictionary<string, ETag> _seen = new(StringComparer.Ordinal);

    public string Description => service.Uri.ToString();

    public async Task<BatchObject?> StatAsync(string key, CancellationToken cancellationToken)
    {
        var blob = BlobOf(key);
        try
        {
            var properties = (await blob.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
            _seen[key] = properties.ETag;
            return new BatchObject(key, properties.ETag.ToString(), properties.ContentLength);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
        catch (RequestFailedException e)
        {
            throw new IOException($"{blob.Uri} cannot be read: {e.Status} {e.ErrorCode}", e);
        }
    }

    public async Task<Stream> OpenReadAsync(string key, CancellationToken cancellationToken)
    {
        var options = new BlobOpenReadOptions(allowModifications: false)
        {
            Conditions = _seen.TryGetValue(key, out var etag) ? new BlobRequestConditions { IfMatch = etag } : null,
        };
        var blob = BlobOf(key);
        try
        {
            return await blob.OpenReadAsync(options, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e)
        {
            // 412: replaced since it was checked. The new content brings its own event; this attempt counts as failed.
            throw new IOException($"{blob.Uri} cannot be read: {e.Status} {e.ErrorCode}", e);
        }
    }

    public async Task<bool> CreateAsync(string key, Stream content, CancellationToken cancellationToken)
    {
        var blob = BlobOf(key, write: true);
        var start = content.CanSeek ? content.Position : 0;
        try
        {
            await WithContainerAsync(blob, async () =>
            {
                if (content.CanSeek)
                {
                    content.Position = start;
                }

                await blob.UploadAsync(content, new BlobUploadOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } }, cancellationToken).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException e) when (e.Status is 409 or 412)
        {
            return false;
        }
    }

    public async Task WriteAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        var blob = BlobOf(key, write: true);
        await WithContainerAsync(blob, async () =>
            await blob.UploadAsync(new BinaryData(content), overwrite: true, cancellationToken).ConfigureAwait(false),
            cancellationToken).ConfigureAwait(false);
    }

    public async Task<string> MoveAsync(string from, string to, CancellationToken cancellationToken)
    {
        var source = BlobOf(from, write: true);
        var sourceConditions = _seen.TryGetValue(from, out var etag) ? new BlobRequestConditions { IfMatch = etag } : null;
        var destination = to;
        if (!await CopyCreateOnlyAsync(source, BlobOf(to, write: true), sourceConditions, cancellationToken).ConfigureAwait(false))
        {
            destination = $"{to}.{Guid.NewGuid():N}";
            if (!await CopyCreateOnlyAsync(source, BlobOf(destination, write: true), sourceConditions, cancellationToken).ConfigureAwait(false))
            {
                // Never delete the source without a copy in place.
                throw new IOException($"could not move {from}: {destination} is taken");
            }
        }

        try
        {
            // Only the content that was moved is deleted; a newer upload under the same name stays and brings its own event.
            await source.DeleteIfExistsAsync(conditions: sourceConditions, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status == 412)
        {
        }

        return destination;
    }

    /// <summary>
    /// Streams the source through this process into a create-only upload. A server-side copy would save the bandwidth,
    /// but whether its source may be authorised by the destination's Entra token varies with the account setup; a
    /// streamed copy works with any identity that may read and write, and moves only files that failed.
    /// </summary>
    private static async Task<bool> CopyCreateOnlyAsync(BlobClient source, BlobClient target, BlobRequestConditions? sourceConditions, CancellationToken cancellationToken)
    {
        // A 412 here means the input changed since it was checked: not a taken destination, so it is not caught.
        await using var content = await source.OpenReadAsync(new BlobOpenReadOptions(allowModifications: false) { Conditions = sourceConditions }, cancellationToken).ConfigureAwait(false);
        var upload = new BlobUploadOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } };
        try
        {
            await WithContainerAsync(target, async () => await target.UploadAsync(content, upload, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException e) when (e.Status is 409 or 412)
        {
            return false;
        }
    }

    /// <summary>
    /// outgoing/ and failed/ are provisioned by the templates; a write that finds its container missing (a fresh
    /// local account) creates it and tries once more, so the usual path costs no extra request.
    /// </summary>
    private static async Task WithContainerAsync(BlobClient blob, Func<Task> write, CancellationToken cancellationToken)
    {
        try
        {
            await write().ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (BlobErrors.IsContainerMissing(e))
        {
            await blob.GetParentBlobContainerClient().CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            await write().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Keys are checked again, segment by segment. Writes go only to the batch layout's containers; reads may also
    /// name another container, for attachments a row refers to (<c>image_key</c>), which must not sit under
    /// <c>incoming/</c> or their upload would trigger a batch run.
    /// </summary>
    private BlobClient BlobOf(string key, bool write = false)
    {
        var segments = key.Split('/');
        var container = segments[0];
        var allowed = write
            ? container is BatchKey.Incoming or BatchKey.Outgoing or BatchKey.Failed
            : IsContainerName(container);
        if (!allowed || segments.Length < 2 || segments.Any(segment => !ModelNames.IsValidFileName(segment)))
        {
            throw new InferenceException(InferenceErrorKind.BadRequest, $"'{ModelNames.Printable(key)}' is not a valid batch key");
        }

        return service.GetBlobContainerClient(container).GetBlobClient(string.Join('/', segments[1..]));
    }

    /// <summary>Blob Storage's rule: 3-63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit.</summary>
    private static bool IsContainerName(string name) =>
        name.Length is >= 3 and <= 63
        && name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-')
        && name[0] != '-' && name[^1] != '-'
        && !name.Contains("--", StringComparison.Ordinal);
}

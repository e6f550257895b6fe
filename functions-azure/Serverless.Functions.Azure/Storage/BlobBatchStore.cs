using System.Runtime.CompilerServices;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Serverless.Inference.Batch;
using Serverless.Inference.Repository;

namespace Serverless.Functions.Azure.Storage;

/// <summary>
/// The batch layout in one storage account: a key's first segment is the container (<c>incoming</c>, <c>outgoing</c>,
/// <c>failed</c>, the only ones the app's identity is granted), the rest is the blob name. Identity is the ETag: reads
/// and deletes send <c>If-Match</c> with the ETag that was stat'ed, create-only writes <c>If-None-Match: *</c>. Holds no
/// state between calls, so one instance serves every invocation.
/// </summary>
internal sealed class BlobBatchStore(BlobServiceClient service) : IBatchStore
{
    /// <summary>A container name and a blob name of up to 1,024 characters (UTF-8 bytes, to be safe).</summary>
    private const int MaxKeyBytes = 64 + 1024;

    private static readonly string[] Containers = [BatchKey.Incoming, BatchKey.Outgoing, BatchKey.Failed];

    public string Description => service.Uri.ToString();

    public async Task<BatchObject?> StatAsync(string key, CancellationToken cancellationToken)
    {
        var blob = BlobOf(key);
        try
        {
            var properties = (await blob.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
            return new BatchObject(key, properties.ETag.ToString(), properties.ContentLength, properties.LastModified);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
        catch (Exception e) when (Failure("read", key, blob, e) is { } failure)
        {
            throw failure;
        }
    }

    public async Task<Stream> OpenReadAsync(BatchObject pinned, long offset, long? length, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pinned);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        var blob = BlobOf(pinned.Key);
        var conditions = new BlobRequestConditions { IfMatch = new ETag(pinned.Identity) };
        try
        {
            var start = Math.Min(offset, pinned.Length);
            var count = Math.Min(length ?? long.MaxValue, pinned.Length - start);
            if (count <= 0 && start > 0 || length == 0)
            {
                // No bytes to read, and Blob Storage answers 416 to an empty range: the pin is still checked.
                await blob.GetPropertiesAsync(conditions, cancellationToken).ConfigureAwait(false);
                return new MemoryStream([], writable: false);
            }

            var download = await blob.DownloadStreamingAsync(
                new BlobDownloadOptions { Range = start == 0 && length is null ? default : new HttpRange(start, count), Conditions = conditions },
                cancellationToken).ConfigureAwait(false);
            // The SDK resumes an interrupted download with the same If-Match, so a change mid-read fails as 412.
            return new BatchReadStream(download.Value.Content, e => Failure("read", pinned.Key, blob, e, pinned), owner: download.Value);
        }
        catch (Exception e) when (Failure("read", pinned.Key, blob, e, pinned) is { } failure)
        {
            throw failure;
        }
    }

    public async Task<bool> CreateAsync(string key, Stream content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        var blob = BlobOf(key);
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
        catch (Exception e) when (Failure("write", key, blob, e) is { } failure)
        {
            throw failure;
        }
    }

    public Task<bool> ComposeAsync(string key, IReadOnlyList<BatchObject> parts, CancellationToken cancellationToken) =>
        this.ComposeThroughFileAsync(key, parts, Path.GetTempPath(), cancellationToken);

    public async Task WriteAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        var blob = BlobOf(key);
        try
        {
            await WithContainerAsync(blob, async () =>
                await blob.UploadAsync(new BinaryData(content), overwrite: true, cancellationToken).ConfigureAwait(false),
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (Failure("write", key, blob, e) is { } failure)
        {
            throw failure;
        }
    }

    public async Task<bool> DeleteAsync(BatchObject pinned, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pinned);
        var blob = BlobOf(pinned.Key);
        try
        {
            await blob.DeleteAsync(conditions: new BlobRequestConditions { IfMatch = new ETag(pinned.Identity) }, cancellationToken: cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException e) when (e.Status is 404 or 412)
        {
            return false;
        }
        catch (Exception e) when (Failure("delete", pinned.Key, blob, e) is { } failure)
        {
            throw failure;
        }
    }

    public async IAsyncEnumerable<BatchObject> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var slash = prefix.IndexOf('/', StringComparison.Ordinal);
        if (!prefix.EndsWith('/') || slash < 0)
        {
            throw new ArgumentException("a prefix is a folder ending in '/', its first segment a container", nameof(prefix));
        }

        var container = ContainerOf(prefix[..slash]);
        var pages = container.GetBlobsAsync(new GetBlobsOptions { Prefix = prefix[(slash + 1)..] }, cancellationToken).AsPages().ConfigureAwait(false);
        await using var enumerator = pages.GetAsyncEnumerator();
        while (true)
        {
            Page<BlobItem> page;
            try
            {
                if (!await enumerator.MoveNextAsync())
                {
                    yield break;
                }

                page = enumerator.Current;
            }
            catch (RequestFailedException e) when (BlobErrors.IsContainerMissing(e))
            {
                yield break;
            }
            catch (Exception e) when (Failure("list", prefix, container.GetBlobClient("x"), e) is { } failure)
            {
                throw failure;
            }

            foreach (var item in page.Values)
            {
                yield return new BatchObject(
                    $"{container.Name}/{item.Name}",
                    Quoted(item.Properties.ETag?.ToString() ?? ""),
                    item.Properties.ContentLength ?? 0,
                    item.Properties.LastModified ?? DateTimeOffset.MinValue);
            }
        }
    }

    /// <summary>A listing gives the ETag bare, a HEAD quoted: the identity is the quoted form either way.</summary>
    private static string Quoted(string etag) => etag.StartsWith('"') ? etag : $"\"{etag}\"";

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
    /// Every Azure failure as the store's exception; cancellation through the token passes. A 412 or 404 on a pinned
    /// object means it changed or vanished. The account's address goes to the log only.
    /// </summary>
    private static BatchStoreException? Failure(string what, string key, BlobClient blob, Exception e, BatchObject? pinned = null) => e switch
    {
        BatchStoreException => null,
        OperationCanceledException when e.InnerException is not TimeoutException => null,
        RequestFailedException { Status: 412 or 404 } when pinned is not null => BatchObjectChangedException.For(pinned, e),
        RequestFailedException failed => new BatchStoreException(
            failed.Status == 0 ? $"could not {what} '{key}': the storage service cannot be reached" : $"could not {what} '{key}': {failed.Status} {failed.ErrorCode}", e)
        {
            Detail = $"{blob.Uri}: {e.Message}",
        },
        IOException or HttpRequestException or OperationCanceledException or AggregateException => new BatchStoreException($"could not {what} '{key}': the connection failed", e)
        {
            Detail = $"{blob.Uri}: {e.Message}",
        },
        _ => null,
    };

    /// <summary>
    /// The key's container must be one of the batch layout's: the app's identity may read and write no other. The key
    /// rule applies too (Blob Storage's own limits on length): a '.' or '..' segment would be resolved away in the
    /// request's URL and name another blob.
    /// </summary>
    private BlobClient BlobOf(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (BatchKeyRule.Problem(key, MaxKeyBytes, MaxKeyBytes) is { } problem)
        {
            throw new BatchStoreException($"'{ModelNames.Printable(key)}' is not a key Blob Storage can hold safely: {problem}") { KeyRefused = true };
        }

        var slash = key.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || slash == key.Length - 1)
        {
            throw new BatchStoreException($"'{ModelNames.Printable(key)}' is not <container>/<blob name>") { KeyRefused = true };
        }

        return ContainerOf(key[..slash]).GetBlobClient(key[(slash + 1)..]);
    }

    private BlobContainerClient ContainerOf(string container) =>
        Containers.Contains(container, StringComparer.Ordinal)
            ? service.GetBlobContainerClient(container)
            : throw new BatchStoreException($"'{ModelNames.Printable(container)}' is not a container this app may use: only {string.Join(", ", Containers)}") { KeyRefused = true };
}

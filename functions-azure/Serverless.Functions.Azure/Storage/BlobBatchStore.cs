using System.Runtime.CompilerServices;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Serverless.Inference.Batch;
using Serverless.Inference.Monitoring;
using Serverless.Inference.Repository;

namespace Serverless.Functions.Azure.Storage;

/// <summary>
/// The batch layout in one storage account: a key's first segment is the container (<c>incoming</c>, <c>outgoing</c>,
/// <c>failed</c>, the stream's <c>predictions</c>, <c>stream-state</c> and <c>stream-events</c>, and <c>capture</c> for
/// prediction capture: the only ones the app's identity is granted), the rest is the blob name. Identity is the ETag: reads
/// and deletes send <c>If-Match</c> with the ETag that was stat'ed, create-only writes <c>If-None-Match: *</c>. Holds no
/// state between calls, so one instance serves every invocation.
/// </summary>
/// <param name="copySource">
/// How server-side copies read their sources (<see cref="ComposeAsync"/>); by default an account-key client signs a
/// SAS and any other client streams the parts through the instance.
/// </param>
internal sealed class BlobBatchStore(BlobServiceClient service, BlobCopySource? copySource = null) : IBatchStore
{
    /// <summary>A container name and a blob name of up to 1,024 characters (UTF-8 bytes, to be safe).</summary>
    private const int MaxKeyBytes = 64 + 1024;

    /// <summary>The largest block Put Block From URL copies; a bigger part is copied as several source ranges.</summary>
    internal const long MaxBlockBytes = 4000L << 20;

    /// <summary>The most blocks one blob can commit.</summary>
    private const int MaxBlocks = 50_000;

    /// <summary>Copies run on the service; a few at once keep a compose of many parts short without flooding the account.</summary>
    private const int CopiesAtOnce = 8;

    private readonly BlobCopySource _copySource = copySource ?? (service.CanGenerateAccountSasUri ? BlobCopySource.SharedKey() : BlobCopySource.None);

    private static readonly string[] Containers =
    [
        BatchKey.Incoming, BatchKey.Outgoing, BatchKey.Failed,
        AzureContract.PredictionsContainer, AzureContract.StreamStateContainer, AzureContract.StreamEventsContainer,
        PredictionCapture.Folder,
    ];

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

    /// <summary>
    /// Put Block From URL for every part (a part over <see cref="MaxBlockBytes"/> as several ranges), each read with
    /// <c>x-ms-source-if-match</c> on the part's ETag, then one Put Block List with <c>If-None-Match: *</c>. No byte
    /// passes through this instance. Block ids are new for every call, so two composes racing for one key never mix
    /// each other's uncommitted blocks: one commit wins whole, the other is told the key is taken.
    /// </summary>
    public async Task<bool> ComposeAsync(string key, IReadOnlyList<BatchObject> parts, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (!_copySource.CanCopy)
        {
            return await this.ComposeThroughFileAsync(key, parts, Path.GetTempPath(), cancellationToken).ConfigureAwait(false);
        }

        var blob = BlobOf(key);
        var target = blob.GetParentBlobContainerClient().GetBlockBlobClient(blob.Name);
        var blocks = Blocks(parts);
        try
        {
            // A merge that already happened costs one request, not a copy of every part.
            if (await target.ExistsAsync(cancellationToken).ConfigureAwait(false))
            {
                return false;
            }

            var authorizer = await _copySource.AuthorizeAsync(cancellationToken).ConfigureAwait(false);
            await WithContainerAsync(target, async () =>
            {
                var run = Guid.NewGuid().ToString("N");
                var ids = blocks.Select((_, index) => BlockId(run, index)).ToArray();
                await Parallel.ForEachAsync(
                    Enumerable.Range(0, blocks.Count),
                    new ParallelOptions { MaxDegreeOfParallelism = CopiesAtOnce, CancellationToken = cancellationToken },
                    async (index, token) => await StageAsync(target, ids[index], blocks[index], authorizer, token).ConfigureAwait(false)).ConfigureAwait(false);
                await target.CommitBlockListAsync(
                    ids.Where((_, index) => blocks[index].Length > 0),
                    new CommitBlockListOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } },
                    cancellationToken).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException e) when (e.Status is 409 or 412)
        {
            return false;
        }
        catch (Exception e) when (Failure("write", key, target, e) is { } failure)
        {
            throw failure;
        }
    }

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

    /// <summary>A part, or a range of one no longer than <see cref="MaxBlockBytes"/>, copied into one block.</summary>
    private sealed record Block(BatchObject Part, BlobClient Source, long Offset, long Length);

    private List<Block> Blocks(IReadOnlyList<BatchObject> parts)
    {
        var blocks = new List<Block>();
        foreach (var part in parts)
        {
            ArgumentNullException.ThrowIfNull(part);
            var source = BlobOf(part.Key);
            var offset = 0L;
            do
            {
                // An empty part still gets an entry, so that its pin is checked; it commits no block.
                var length = Math.Min(MaxBlockBytes, part.Length - offset);
                blocks.Add(new Block(part, source, offset, length));
                offset += length;
            }
            while (offset < part.Length);
        }

        return blocks.Count <= MaxBlocks
            ? blocks
            : throw new BatchStoreException($"{parts.Count} parts make {blocks.Count} blocks; a blob holds at most {MaxBlocks}");
    }

    /// <summary>Every id of one blob must have the same length: a run's id and a fixed-width index.</summary>
    private static string BlockId(string run, int index) =>
        Convert.ToBase64String(System.Text.Encoding.ASCII.GetBytes($"{run}-{index.ToString("D6", System.Globalization.CultureInfo.InvariantCulture)}"));

    private static async Task StageAsync(BlockBlobClient target, string id, Block block, BlobCopySource.Authorizer authorizer, CancellationToken cancellationToken)
    {
        var pin = new ETag(block.Part.Identity);
        try
        {
            if (block.Length == 0)
            {
                await block.Source.GetPropertiesAsync(new BlobRequestConditions { IfMatch = pin }, cancellationToken).ConfigureAwait(false);
                return;
            }

            var (uri, authorization) = authorizer.For(block.Source);
            await target.StageBlockFromUriAsync(uri, id, new StageBlockFromUriOptions
            {
                SourceRange = new HttpRange(block.Offset, block.Length),
                SourceConditions = new RequestConditions { IfMatch = pin },
                SourceAuthentication = authorization,
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status is 404 or 412 && !BlobErrors.IsContainerMissing(e))
        {
            // The source's condition failed or the source is gone (the service reports it as the copy's own status).
            throw BatchObjectChangedException.For(block.Part, e);
        }
    }

    /// <summary>A listing gives the ETag bare, a HEAD quoted: the identity is the quoted form either way.</summary>
    private static string Quoted(string etag) => etag.StartsWith('"') ? etag : $"\"{etag}\"";

    /// <summary>
    /// outgoing/ and failed/ are provisioned by the templates; a write that finds its container missing (a fresh
    /// local account) creates it and tries once more, so the usual path costs no extra request.
    /// </summary>
    private static async Task WithContainerAsync(BlobBaseClient blob, Func<Task> write, CancellationToken cancellationToken)
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
    private static BatchStoreException? Failure(string what, string key, BlobBaseClient blob, Exception e, BatchObject? pinned = null) => e switch
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
        global::Azure.Identity.AuthenticationFailedException => new BatchStoreException($"could not {what} '{key}': the app's identity got no token for the storage account", e)
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

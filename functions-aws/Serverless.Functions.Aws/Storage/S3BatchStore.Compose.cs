using System.Globalization;
using System.Net;
using System.Runtime.ExceptionServices;
using Amazon.S3;
using Amazon.S3.Model;
using Serverless.Inference.Batch;

namespace Serverless.Functions.Aws.Storage;

/// <summary>
/// Compose on S3: one multipart upload whose parts are server-side copies of the source parts (UploadPartCopy), and,
/// where sources are under S3's 5 MiB minimum part size, their bytes streamed through a staging file in the work
/// directory. Completion is create-only (<c>If-None-Match: *</c>); any failure aborts the upload.
/// </summary>
internal sealed partial class S3BatchStore
{
    /// <summary>UploadPartCopy requests in flight at once: each is a server-side copy, so they cost this process little.</summary>
    private const int ConcurrentCopies = 8;

    public async Task<bool> ComposeAsync(string key, IReadOnlyList<BatchObject> parts, CancellationToken cancellationToken)
    {
        Check(key);
        ArgumentNullException.ThrowIfNull(parts);
        foreach (var part in parts)
        {
            ArgumentNullException.ThrowIfNull(part);
            Check(part.Key);
        }

        // A cheap refusal before any copying; the create-only completion still decides a race.
        if (await StatAsync(key, cancellationToken).ConfigureAwait(false) is not null)
        {
            return false;
        }

        var plan = S3ComposePlan.Plan(parts);
        if (plan.Count > S3ComposePlan.MaxParts)
        {
            throw new BatchStoreException(string.Create(
                CultureInfo.InvariantCulture,
                $"could not compose '{key}': {parts.Count} parts make {plan.Count} upload parts, over S3's limit of {S3ComposePlan.MaxParts}"));
        }

        // Empty parts add no bytes, but a replaced one must still refuse the compose.
        foreach (var empty in parts.Where(part => part.Length == 0).Distinct())
        {
            await CheckPinnedAsync(empty, cancellationToken).ConfigureAwait(false);
        }

        return plan switch
        {
            [] => await CreateAsync(key, new MemoryStream([], writable: false), cancellationToken).ConfigureAwait(false),
            // Under 5 MiB in all: one create-only PutObject of the staged bytes, no upload to manage.
            [{ IsCopy: false } only] => await CreateStagedAsync(key, only, cancellationToken).ConfigureAwait(false),
            _ => await ComposeMultipartAsync(key, plan, cancellationToken).ConfigureAwait(false),
        };
    }

    private async Task<bool> CreateStagedAsync(string key, ComposeUploadPart part, CancellationToken cancellationToken)
    {
        var staged = await StageAsync(part, cancellationToken).ConfigureAwait(false);
        try
        {
            await using var content = new FileStream(staged, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous);
            return await CreateAsync(key, content, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            File.Delete(staged);
        }
    }

    private async Task<bool> ComposeMultipartAsync(string key, IReadOnlyList<ComposeUploadPart> plan, CancellationToken cancellationToken)
    {
        string uploadId;
        try
        {
            var started = await s3.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = bucket, Key = key }, cancellationToken).ConfigureAwait(false);
            uploadId = started.UploadId;
        }
        catch (Exception e) when (Failure("write", key, e, cancellationToken) is { } failure)
        {
            throw failure;
        }

        var completed = false;
        var etags = new PartETag[plan.Count];
        var copies = new List<Task>();
        using var copySlots = new SemaphoreSlim(ConcurrentCopies);
        // A failed copy stops the others and the streaming: the upload is abandoned anyway.
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            try
            {
                foreach (var part in plan)
                {
                    if (part.IsCopy)
                    {
                        await copySlots.WaitAsync(failed.Token).ConfigureAwait(false);
                        copies.Add(CopyPartAsync(key, uploadId, part, etags, copySlots, failed));
                    }
                    else
                    {
                        etags[part.Number - 1] = await UploadStagedPartAsync(key, uploadId, part, failed.Token).ConfigureAwait(false);
                    }
                }

                await Task.WhenAll(copies).ConfigureAwait(false);
            }
            catch (Exception) when (!cancellationToken.IsCancellationRequested && copies.FirstOrDefault(copy => copy.IsFaulted) is { } copyFailed)
            {
                // The copy's own failure, not the cancellation it caused elsewhere.
                ExceptionDispatchInfo.Throw(copyFailed.Exception!.InnerException!);
            }

            var complete = new CompleteMultipartUploadRequest { BucketName = bucket, Key = key, UploadId = uploadId, IfNoneMatch = "*" };
            complete.AddPartETags(etags);
            try
            {
                await s3.CompleteMultipartUploadAsync(complete, cancellationToken).ConfigureAwait(false);
                completed = true;
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
        finally
        {
            if (!completed)
            {
                await failed.CancelAsync().ConfigureAwait(false);
            }

            // No copy may still be writing into the upload when it is aborted.
            await Task.WhenAll(copies).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (!completed)
            {
                await AbortAsync(key, uploadId).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// A server-side copy pinned with <c>x-amz-copy-source-if-match</c>, then a pinned HEAD of the source: S3 refuses a
    /// replaced source with 412 itself; the HEAD catches it on S3-compatible stores that ignore the header (moto does).
    /// </summary>
    private async Task CopyPartAsync(string key, string uploadId, ComposeUploadPart part, PartETag[] etags, SemaphoreSlim slots, CancellationTokenSource failed)
    {
        var piece = part.Pieces[0];
        try
        {
            var request = new CopyPartRequest
            {
                SourceBucket = bucket,
                SourceKey = piece.Part.Key,
                DestinationBucket = bucket,
                DestinationKey = key,
                UploadId = uploadId,
                PartNumber = part.Number,
                ETagToMatch = [$"\"{piece.Part.Identity}\""],
            };
            if (piece.Offset > 0 || piece.Length != piece.Part.Length)
            {
                request.FirstByte = piece.Offset;
                request.LastByte = piece.Offset + piece.Length - 1;
            }

            CopyPartResponse copied;
            try
            {
                copied = await s3.CopyPartAsync(request, failed.Token).ConfigureAwait(false);
            }
            catch (AmazonS3Exception e) when (e.ErrorCode != "NoSuchUpload" && Failure("copy", piece.Part.Key, e, failed.Token, piece.Part) is { } failure)
            {
                throw failure;
            }
            catch (Exception e) when (Failure("copy", piece.Part.Key, e, failed.Token) is { } failure)
            {
                throw failure;
            }

            await CheckPinnedAsync(piece.Part, failed.Token).ConfigureAwait(false);
            etags[part.Number - 1] = new PartETag(part.Number, copied.ETag);
        }
        catch
        {
            await failed.CancelAsync().ConfigureAwait(false);
            throw;
        }
        finally
        {
            slots.Release();
        }
    }

    private async Task<PartETag> UploadStagedPartAsync(string key, string uploadId, ComposeUploadPart part, CancellationToken cancellationToken)
    {
        var staged = await StageAsync(part, cancellationToken).ConfigureAwait(false);
        try
        {
            var uploaded = await s3.UploadPartAsync(
                new UploadPartRequest { BucketName = bucket, Key = key, UploadId = uploadId, PartNumber = part.Number, FilePath = staged, FilePosition = 0, PartSize = part.Length },
                cancellationToken).ConfigureAwait(false);
            return new PartETag(part.Number, uploaded.ETag);
        }
        catch (Exception e) when (Failure("write", key, e, cancellationToken) is { } failure)
        {
            throw failure;
        }
        finally
        {
            File.Delete(staged);
        }
    }

    /// <summary>The pieces' bytes, read pinned, in a file of their own: at most 5 MiB, never held in memory.</summary>
    private async Task<string> StageAsync(ComposeUploadPart part, CancellationToken cancellationToken)
    {
        var path = Path.Combine(workDirectory ?? Path.GetTempPath(), $"compose-{Guid.NewGuid():N}.part");
        try
        {
            await using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
            foreach (var piece in part.Pieces)
            {
                await using var content = await OpenReadAsync(piece.Part, piece.Offset, piece.Length, cancellationToken).ConfigureAwait(false);
                await content.CopyToAsync(file, cancellationToken).ConfigureAwait(false);
            }

            if (file.Length != part.Length)
            {
                throw new BatchStoreException(string.Create(CultureInfo.InvariantCulture, $"could not compose: the parts gave {file.Length} bytes where {part.Length} were expected"));
            }

            return path;
        }
        catch
        {
            File.Delete(path);
            throw;
        }
    }

    /// <summary>A HEAD with <c>If-Match</c>: throws <see cref="BatchObjectChangedException"/> when the object is no longer the pinned one.</summary>
    private async Task CheckPinnedAsync(BatchObject pinned, CancellationToken cancellationToken)
    {
        try
        {
            await s3.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = bucket, Key = pinned.Key, EtagToMatch = $"\"{pinned.Identity}\"" }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (Failure("read", pinned.Key, e, cancellationToken, pinned) is { } failure)
        {
            throw failure;
        }
    }

    /// <summary>
    /// Best effort, whatever the caller's token says: an upload left behind holds storage until the bucket's lifecycle
    /// rule for incomplete uploads removes it.
    /// </summary>
    private async Task AbortAsync(string key, string uploadId)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await s3.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = bucket, Key = key, UploadId = uploadId }, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AmazonS3Exception { StatusCode: HttpStatusCode.NotFound } or Amazon.Runtime.AmazonServiceException or Amazon.Runtime.AmazonClientException or HttpRequestException or IOException or OperationCanceledException)
        {
            // Nothing more to do here; the failure that led to the abort is what the caller sees.
        }
    }
}

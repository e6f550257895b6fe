using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Serverless.Inference.Repository;
using Serverless.Inference.Streams;

namespace Serverless.Inference.Batch;

/// <summary>
/// A drop folder with the batch layout (incoming/, outgoing/, failed/). Identity is the content's SHA-256, remembered
/// per (size, write time). Keys become paths only through <see cref="PathOf"/>: the key rule, then a check that the
/// path stays under the root.
/// </summary>
/// <remarks>
/// Pinning without ETags: a whole read hashes the bytes as they stream and throws at the end when they are not the
/// identity's, so nothing is published from a file replaced mid-read; a ranged read checks size and write time of the
/// open file before and after. A conditional delete checks size, write time and identity and then deletes: a writer
/// that replaces the file in the moment between the two loses its content, a window no portable file API closes.
/// Create-only publication writes a temporary file and links it into place in one atomic step (<see cref="CreateOnlyFile"/>).
/// </remarks>
public sealed class LocalFolderBatchStore : IBatchStore
{
    private readonly string _root;
    private readonly ContentIdentities _identities = new();

    public LocalFolderBatchStore(string root)
    {
        _root = Path.GetFullPath(root);
    }

    public string Description => _root;

    public string Root => _root;

    public async Task<BatchObject?> StatAsync(string key, CancellationToken cancellationToken)
    {
        var path = PathOf(key);
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                return null;
            }

            var identity = await _identities.GetAsync(info, cancellationToken).ConfigureAwait(false);
            return new BatchObject(key, identity, info.Length, new DateTimeOffset(info.LastWriteTimeUtc, TimeSpan.Zero));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Failure("read", key, e);
        }
    }

    public Task<Stream> OpenReadAsync(BatchObject pinned, long offset, long? length, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pinned);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (length is { } requested)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(requested);
        }

        var path = PathOf(pinned.Key);
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16, useAsync: true);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw BatchObjectChangedException.For(pinned, e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Failure("read", pinned.Key, e);
        }

        try
        {
            if (!Matches(file, pinned))
            {
                throw BatchObjectChangedException.For(pinned);
            }

            if (offset == 0 && length is null)
            {
                // The whole object: the hash of the bytes read is compared with the identity before the end is reported.
                var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                long seen = 0;
                return Task.FromResult<Stream>(new BatchReadStream(
                    file,
                    e => Translate(pinned.Key, e),
                    chunk =>
                    {
                        hash.AppendData(chunk.Span);
                        seen += chunk.Length;
                    },
                    _ =>
                    {
                        var identity = "sha256:" + Convert.ToHexStringLower(hash.GetHashAndReset());
                        return seen == pinned.Length && identity == pinned.Identity ? ValueTask.CompletedTask : throw BatchObjectChangedException.For(pinned);
                    },
                    hash));
            }

            file.Position = Math.Min(offset, pinned.Length);
            var range = new LimitedStream(file, Math.Min(length ?? long.MaxValue, pinned.Length - file.Position));
            return Task.FromResult<Stream>(new BatchReadStream(
                range,
                e => Translate(pinned.Key, e),
                atEnd: _ => Matches(file, pinned) ? ValueTask.CompletedTask : throw BatchObjectChangedException.For(pinned)));
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public async Task<bool> CreateAsync(string key, Stream content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        var target = PathOf(key);
        try
        {
            if (File.Exists(target))
            {
                return false;
            }

            var temporary = await WriteTemporaryAsync(target, async file => await content.CopyToAsync(file, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
            return CreateOnlyFile.TryPublish(temporary, target);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException && e is not BatchStoreException)
        {
            throw Failure("write", key, e);
        }
    }

    /// <summary>The parts streamed one after the other into a temporary file, published create-only.</summary>
    public async Task<bool> ComposeAsync(string key, IReadOnlyList<BatchObject> parts, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(parts);
        var target = PathOf(key);
        try
        {
            if (File.Exists(target))
            {
                return false;
            }

            var temporary = await WriteTemporaryAsync(
                target,
                async file =>
                {
                    foreach (var part in parts)
                    {
                        await using var content = await OpenReadAsync(part, 0, null, cancellationToken).ConfigureAwait(false);
                        await content.CopyToAsync(file, cancellationToken).ConfigureAwait(false);
                    }
                },
                cancellationToken).ConfigureAwait(false);
            return CreateOnlyFile.TryPublish(temporary, target);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException && e is not BatchStoreException)
        {
            throw Failure("write", key, e);
        }
    }

    public async Task WriteAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        var target = PathOf(key);
        try
        {
            var temporary = await WriteTemporaryAsync(target, async file => await file.WriteAsync(content, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
            File.Move(temporary, target, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Failure("write", key, e);
        }
    }

    public async Task<bool> DeleteAsync(BatchObject pinned, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pinned);
        var path = PathOf(pinned.Key);
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists || info.Length != pinned.Length || info.LastWriteTimeUtc != pinned.LastModified.UtcDateTime
                || await _identities.GetAsync(info, cancellationToken).ConfigureAwait(false) != pinned.Identity)
            {
                return false;
            }

            File.Delete(path);
            return true;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Failure("delete", pinned.Key, e);
        }
    }

    public async IAsyncEnumerable<BatchObject> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        if (!prefix.EndsWith('/'))
        {
            throw new ArgumentException("a prefix is a folder ending in '/'", nameof(prefix));
        }

        var folder = PathOf(prefix[..^1]);
        if (!Directory.Exists(folder))
        {
            yield break;
        }

        foreach (var file in new DirectoryInfo(folder).EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true }))
        {
            var key = Path.GetRelativePath(_root, file.FullName).Replace('\\', '/');
            if (IsTemporary(file.Name) || BatchKeyRule.Problem(key) is not null)
            {
                continue;
            }

            if (await StatAsync(key, cancellationToken).ConfigureAwait(false) is { } stat)
            {
                yield return stat;
            }
        }
    }

    /// <summary>Every file under incoming/ but hidden ones (names starting with '.'), as keys, oldest first: what the drop-folder watcher polls.</summary>
    public IReadOnlyList<string> ListIncoming()
    {
        var incoming = Path.Combine(_root, BatchKey.Incoming);
        return !Directory.Exists(incoming)
            ? []
            : [.. new DirectoryInfo(incoming).EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 3 })
                .Where(file => !file.Name.StartsWith('.'))
                .OrderBy(file => file.LastWriteTimeUtc)
                .Select(file => Path.GetRelativePath(_root, file.FullName).Replace('\\', '/'))];
    }

    /// <summary>The one way from a key to a path: the key rule, and the full path under the root (which must exist).</summary>
    private string PathOf(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!Directory.Exists(_root))
        {
            throw new BatchStoreException("the drop folder does not exist") { Detail = _root };
        }

        var problem = BatchKeyRule.Problem(key);
        var path = problem is null ? Path.GetFullPath(Path.Combine([_root, .. key.Split('/')])) : null;
        return path is not null && path.StartsWith(_root + Path.DirectorySeparatorChar, StringComparison.Ordinal)
            ? path
            : throw new BatchStoreException($"'{ModelNames.Printable(key)}' is not a key a drop folder can hold: {problem ?? "it leaves the folder"}") { KeyRefused = true };
    }

    private static async Task<string> WriteTemporaryAsync(string target, Func<FileStream, Task> write, CancellationToken cancellationToken)
    {
        var folder = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(folder);
        // A fixed-length name: the target's may already be as long as the file system allows.
        var temporary = Path.Combine(folder, $".{Guid.NewGuid():N}.part");
        try
        {
            await using var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
            await write(file).ConfigureAwait(false);
            await file.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }

        return temporary;
    }

    private static bool IsTemporary(string name) => name.Length == 38 && name[0] == '.' && name.EndsWith(".part", StringComparison.Ordinal);

    private static bool Matches(FileStream file, BatchObject pinned) =>
        RandomAccess.GetLength(file.SafeFileHandle) == pinned.Length && File.GetLastWriteTimeUtc(file.SafeFileHandle) == pinned.LastModified.UtcDateTime;

    private BatchStoreException? Translate(string key, Exception e) => e switch
    {
        BatchStoreException or OperationCanceledException => null,
        IOException or UnauthorizedAccessException => Failure("read", key, e),
        _ => null,
    };

    private BatchStoreException Failure(string what, string key, Exception e) =>
        new($"the drop folder could not {what} '{key}': {e.Message.Replace(_root, ".", StringComparison.Ordinal)}", e) { Detail = e.Message };

    /// <summary>At most <c>remaining</c> bytes of the inner stream.</summary>
    private sealed class LimitedStream(Stream inner, long remaining) : ForwardReadStream
    {
        public override int Read(Span<byte> buffer)
        {
            var read = remaining <= 0 ? 0 : inner.Read(buffer[..(int)Math.Min(buffer.Length, remaining)]);
            remaining -= read;
            return read;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = remaining <= 0 ? 0 : await inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, remaining)], cancellationToken).ConfigureAwait(false);
            remaining -= read;
            return read;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}

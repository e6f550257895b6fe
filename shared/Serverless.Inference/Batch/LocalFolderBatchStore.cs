using Serverless.Inference.Repository;

namespace Serverless.Inference.Batch;

/// <summary>
/// A drop folder with the batch layout (incoming/, outgoing/, failed/). Identity is the content's
/// SHA-256. Create-only publication writes a temporary file and links it into place in one atomic step
/// (<see cref="CreateOnlyFile"/>), so two racing runs cannot both publish.
/// </summary>
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
        var info = new FileInfo(PathOf(key));
        if (!info.Exists)
        {
            return null;
        }

        var identity = await _identities.GetAsync(info, cancellationToken).ConfigureAwait(false);
        return new BatchObject(key, identity, info.Length);
    }

    public Task<Stream> OpenReadAsync(string key, CancellationToken cancellationToken) => Task.FromResult<Stream>(OpenShared(PathOf(key)));

    public async Task<bool> CreateAsync(string key, Stream content, CancellationToken cancellationToken)
    {
        var target = PathOf(key);
        if (File.Exists(target))
        {
            return false;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var temporary = Path.Combine(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.part");
        try
        {
            await using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
            {
                await content.CopyToAsync(file, cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }

        return CreateOnlyFile.TryPublish(temporary, target);
    }

    public async Task WriteAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        var target = PathOf(key);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var temporary = target + $".{Guid.NewGuid():N}.part";
        await File.WriteAllBytesAsync(temporary, content.ToArray(), cancellationToken).ConfigureAwait(false);
        File.Move(temporary, target, overwrite: true);
    }

    public async Task<string> MoveAsync(string from, string to, CancellationToken cancellationToken)
    {
        var destination = to;
        await using (var source = OpenShared(PathOf(from)))
        {
            if (!await CreateAsync(to, source, cancellationToken).ConfigureAwait(false))
            {
                destination = $"{to}.{Guid.NewGuid():N}";
                source.Position = 0;
                await CreateAsync(destination, source, cancellationToken).ConfigureAwait(false);
            }
        }

        File.Delete(PathOf(from));
        return destination;
    }

    /// <summary>Every file under incoming/, as keys, oldest first.</summary>
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

    private static FileStream OpenShared(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16, useAsync: true);

    /// <summary>Keys come from the batch layout, but are checked again: every segment passes the name rule.</summary>
    private string PathOf(string key)
    {
        var segments = key.Split('/');
        if (segments.Any(segment => !ModelNames.IsValidFileName(segment)))
        {
            throw new InferenceException(InferenceErrorKind.BadRequest, $"'{ModelNames.Printable(key)}' is not a valid batch key");
        }

        return Path.Combine([_root, .. segments]);
    }
}

using System.Buffers;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Serverless.Inference.Repository;

namespace Serverless.Inference.Artifacts;

/// <summary>
/// Remote model files copied once to local disk (<c>/tmp</c> on Lambda, the temp folder elsewhere),
/// addressed by the file's identity, so a changed file gets a new slot and an unchanged one is never
/// fetched twice. Files are written under a temporary name and renamed, so a crash never leaves a half file.
/// The folder must be private to this user (see <see cref="PrivateDirectory"/>). Each file's SHA-256 is
/// recorded beside it when it is downloaded and checked the first time a process uses it.
/// Entries unused for <see cref="MaxAge"/>, and the least recently used beyond the size budget, are removed
/// after each download; never those this process is using.
/// </summary>
internal sealed partial class ArtifactCache
{
    private const string HashSuffix = ".sha256";
    private const string HashPrefix = "sha256:";
    private const string PartMarker = ".part-";
    private const string DerivedFolder = "derived";
    private static readonly SearchValues<char> HexDigits = SearchValues.Create("0123456789abcdefABCDEF");

    private readonly string _configuredRoot;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _rootGate = new();
    private readonly Lock _evictionGate = new();
    private readonly ConcurrentDictionary<string, Lazy<Task<string>>> _loads = new();
    private readonly ConcurrentDictionary<string, byte> _verified = new();
    // The path last handed out per store path (or derived file): older identities of a store path are no longer in use.
    private readonly ConcurrentDictionary<string, string> _inUse = new();
    private string? _root;

    public ArtifactCache(string root, TimeProvider? time = null, ILogger? logger = null)
    {
        _configuredRoot = Path.GetFullPath(root);
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The folder in use, created on first use: the configured one, or a private one beside it when that is unsafe.</summary>
    public string Root
    {
        get
        {
            lock (_rootGate)
            {
                if (_root is null)
                {
                    _root = PrivateDirectory.Resolve(_configuredRoot, out var rejection);
                    RootRejection = rejection;
                    if (rejection is not null)
                    {
                        LogRootRejected(_logger, _configuredRoot, rejection, _root);
                    }
                }

                return _root;
            }
        }
    }

    /// <summary>Why the configured folder was not used, or null.</summary>
    internal string? RootRejection { get; private set; }

    /// <summary>Entries not used for longer than this are removed.</summary>
    internal TimeSpan MaxAge { get; init; } = TimeSpan.FromDays(7);

    /// <summary>The most the cache keeps, least recently used removed first; see also <see cref="MaxDiskShare"/>.</summary>
    internal long MaxBytes { get; init; } = 2L << 30;

    /// <summary>The cache's share, at most, of the space it could have: its own size plus the free space left.</summary>
    internal double MaxDiskShare { get; init; } = 0.5;

    /// <summary>Free bytes on the file system holding a path, or null when unknown.</summary>
    internal Func<string, long?> AvailableBytes { get; init; } = FreeSpace;

    /// <summary>A local path holding the file's content: the store's own path for local stores, else a cached copy.</summary>
    public async Task<string> GetLocalPathAsync(IModelStore store, StoredFile file, CancellationToken cancellationToken)
    {
        if (store is ILocalModelStore local && local.FindLocalPath(file.Path) is { } path)
        {
            return path;
        }

        var target = Path.Combine(Root, SlotName(file), file.Path.FileName);
        _inUse[file.Path.ToString()] = target;
        if (_verified.ContainsKey(target) && File.Exists(target))
        {
            return target;
        }

        var load = _loads.GetOrAdd(target, key => new Lazy<Task<string>>(() => LoadAsync(store, file, key)));
        return await load.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A path in the cache for files the process derives itself, such as optimized graphs.</summary>
    /// <param name="identity">Everything the derived file depends on.</param>
    public string GetDerivedPath(string identity, string fileName)
    {
        var folder = Path.Combine(Root, DerivedFolder);
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, Hash(identity) + "-" + ModelNames.Require(fileName, "file name"));
        if (_inUse.TryAdd(path, path) && File.Exists(path))
        {
            Touch(path);
        }

        return path;
    }

    private async Task<string> LoadAsync(IModelStore store, StoredFile file, string target)
    {
        try
        {
            _verified.TryRemove(target, out _);
            var downloaded = !await IsIntactAsync(file, target).ConfigureAwait(false);
            if (downloaded)
            {
                await DownloadAsync(store, file, target).ConfigureAwait(false);
            }

            _verified[target] = 0;
            if (downloaded)
            {
                Evict();
            }

            return target;
        }
        finally
        {
            // Finished either way: the next caller finds the file, or tries again after a failure.
            _loads.TryRemove(target, out _);
        }
    }

    /// <summary>Whether a cached copy exists and matches its recorded hash; a copy that does not is removed.</summary>
    private async Task<bool> IsIntactAsync(StoredFile file, string target)
    {
        var info = new FileInfo(target);
        if (!info.Exists)
        {
            return false;
        }

        var recorded = ReadRecordedHash(target);
        var problem = recorded is null ? "no hash was recorded for it"
            : info.Length != file.Length ? $"it has {info.Length} bytes, not {file.Length}"
            : IsContentHash(file.Identity) && !string.Equals(recorded, file.Identity, StringComparison.OrdinalIgnoreCase) ? "its recorded hash is not the store's content hash"
            : !string.Equals(await HashFileAsync(target).ConfigureAwait(false), recorded, StringComparison.OrdinalIgnoreCase) ? "its content does not match its recorded hash"
            : null;
        if (problem is null)
        {
            Touch(target + HashSuffix);
            return true;
        }

        LogDownloadedAgain(_logger, file.Path.ToString(), problem);
        File.Delete(target);
        File.Delete(target + HashSuffix);
        return false;
    }

    private async Task DownloadAsync(IModelStore store, StoredFile file, string target)
    {
        // The download is shared by every caller, so no single caller's cancellation may abort it.
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var temporary = target + PartMarker + Guid.NewGuid().ToString("N");
        try
        {
            string hash;
            await using (var source = await store.OpenReadAsync(file.Path, CancellationToken.None).ConfigureAwait(false))
            await using (var destination = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
            {
                hash = await CopyAndHashAsync(source, destination).ConfigureAwait(false);
                if (destination.Length != file.Length)
                {
                    throw new InferenceException(
                        InferenceErrorKind.Unavailable,
                        $"download of '{file.Path}' ended after {destination.Length} of {file.Length} bytes")
                    {
                        Detail = store.Description,
                    };
                }
            }

            if (IsContentHash(file.Identity) && !string.Equals(hash, file.Identity, StringComparison.OrdinalIgnoreCase))
            {
                throw new InferenceException(
                    InferenceErrorKind.Unavailable,
                    $"download of '{file.Path}' from {store.Description} does not match its identity {file.Identity}");
            }

            // The hash goes first: a copy without one is never trusted, so the copy must not appear before it.
            WriteRecordedHash(target, hash);
            File.SetLastWriteTimeUtc(temporary, _time.GetUtcNow().UtcDateTime);
            File.Move(temporary, target, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    private static async Task<string> CopyAndHashAsync(Stream source, Stream destination)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
        try
        {
            int read;
            while ((read = await source.ReadAsync(buffer, CancellationToken.None).ConfigureAwait(false)) > 0)
            {
                hash.AppendData(buffer, 0, read);
                await destination.WriteAsync(buffer.AsMemory(0, read), CancellationToken.None).ConfigureAwait(false);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return HashPrefix + Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static async Task<string> HashFileAsync(string path)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
        return HashPrefix + Convert.ToHexStringLower(await SHA256.HashDataAsync(stream).ConfigureAwait(false));
    }

    private static string? ReadRecordedHash(string target)
    {
        try
        {
            var text = File.ReadAllText(target + HashSuffix).Trim();
            return IsContentHash(text) ? text : null;
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    private void WriteRecordedHash(string target, string hash)
    {
        var path = target + HashSuffix;
        var temporary = path + PartMarker + Guid.NewGuid().ToString("N");
        try
        {
            File.WriteAllText(temporary, hash + "\n");
            File.SetLastWriteTimeUtc(temporary, _time.GetUtcNow().UtcDateTime);
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>Records a use: eviction goes by the newest modification time in an entry.</summary>
    private void Touch(string path)
    {
        try
        {
            File.SetLastWriteTimeUtc(path, _time.GetUtcNow().UtcDateTime);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Another process may have just removed it; the entry then only looks older than it is.
        }
    }

    private void Evict()
    {
        lock (_evictionGate)
        {
            try
            {
                ArtifactEviction.Run(Root, [.. _inUse.Values], _time.GetUtcNow().UtcDateTime - MaxAge, Budget, _logger);
                foreach (var path in _verified.Keys.Where(path => !File.Exists(path)))
                {
                    _verified.TryRemove(path, out _);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Eviction only saves space; a download that succeeded must not fail because of it.
                LogEvictionFailed(_logger, e, Root);
            }
        }
    }

    private long Budget(long cacheBytes)
    {
        // The cache's own bytes count as space it could use: measured against free space alone, the budget
        // would shrink as the cache grows and every download would evict the one before.
        return AvailableBytes(Root) is { } available
            ? Math.Min(MaxBytes, (long)(MaxDiskShare * (available + cacheBytes)))
            : MaxBytes;
    }

    private static long? FreeSpace(string path)
    {
        try
        {
            return new DriveInfo(OperatingSystem.IsWindows() ? Path.GetPathRoot(path)! : path).AvailableFreeSpace;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }

    private static bool IsContentHash(string identity) =>
        identity.Length == HashPrefix.Length + 64
        && identity.StartsWith(HashPrefix, StringComparison.OrdinalIgnoreCase)
        && !identity.AsSpan(HashPrefix.Length).ContainsAnyExcept(HexDigits);

    private static string SlotName(StoredFile file) => Hash(file.Identity + "\n" + file.Path);

    private static string Hash(string text) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)).AsSpan(0, 16));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Artifact cache folder {Folder} is not used because {Reason}; using {Fallback} instead")]
    private static partial void LogRootRejected(ILogger logger, string folder, string reason, string fallback);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cached copy of {File} is downloaded again because {Reason}")]
    private static partial void LogDownloadedAgain(ILogger logger, string file, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Artifact cache eviction in {Folder} failed")]
    private static partial void LogEvictionFailed(ILogger logger, Exception exception, string folder);
}

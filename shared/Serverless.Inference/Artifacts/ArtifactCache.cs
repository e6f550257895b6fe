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
/// The folder must be private to this user (see <see cref="PrivateDirectory"/>).
/// </summary>
public sealed class ArtifactCache
{
    private readonly string _configuredRoot;
    private readonly ILogger _logger;
    private readonly Lock _rootGate = new();
    private readonly ConcurrentDictionary<string, Lazy<Task<string>>> _downloads = new();
    private string? _root;

    public ArtifactCache(string root, ILogger? logger = null)
    {
        _configuredRoot = Path.GetFullPath(root);
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
                        _logger.LogWarning(
                            "Artifact cache folder {Folder} is not used because {Reason}; using {Fallback} instead",
                            _configuredRoot, rejection, _root);
                    }
                }

                return _root;
            }
        }
    }

    /// <summary>Why the configured folder was not used, or null.</summary>
    internal string? RootRejection { get; private set; }

    /// <summary>A local path holding the file's content: the store's own path for local stores, else a cached copy.</summary>
    public async Task<string> GetLocalPathAsync(IModelStore store, StoredFile file, CancellationToken cancellationToken)
    {
        if (store is ILocalModelStore local)
        {
            return local.GetLocalPath(file.Path);
        }

        var target = Path.Combine(Root, SlotName(file), file.Path.FileName);
        if (new FileInfo(target) is { Exists: true } existing && existing.Length == file.Length)
        {
            return target;
        }

        var download = _downloads.GetOrAdd(target, key => new Lazy<Task<string>>(() => DownloadAsync(store, file, key)));
        return await download.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A path in the cache for files the process derives itself, such as optimized graphs.</summary>
    public string GetDerivedPath(string identity, string fileName)
    {
        var folder = Path.Combine(Root, "derived");
        Directory.CreateDirectory(folder);
        return Path.Combine(folder, Hash(identity) + "-" + ModelNames.Require(fileName, "file name"));
    }

    private async Task<string> DownloadAsync(IModelStore store, StoredFile file, string target)
    {
        try
        {
            return await DownloadOnceAsync(store, file, target).ConfigureAwait(false);
        }
        finally
        {
            // Finished either way: the next caller finds the file, or tries again after a failure.
            _downloads.TryRemove(target, out _);
        }
    }

    private static async Task<string> DownloadOnceAsync(IModelStore store, StoredFile file, string target)
    {
        // The download is shared by every caller, so no single caller's cancellation may abort it.
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var temporary = target + ".part-" + Guid.NewGuid().ToString("N");
        try
        {
            await using (var source = await store.OpenReadAsync(file.Path, CancellationToken.None).ConfigureAwait(false))
            await using (var destination = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
            {
                await source.CopyToAsync(destination, CancellationToken.None).ConfigureAwait(false);
                if (destination.Length != file.Length)
                {
                    throw new InferenceException(
                        InferenceErrorKind.Unavailable,
                        $"download of '{file.Path}' from {store.Description} ended after {destination.Length} of {file.Length} bytes");
                }
            }

            File.Move(temporary, target, overwrite: true);
            return target;
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    private static string SlotName(StoredFile file) => Hash(file.Identity + "\n" + file.Path);

    private static string Hash(string text) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)).AsSpan(0, 16));
}

using Microsoft.Extensions.Logging;
using Serverless.Inference.Repository;

namespace Serverless.Inference.Hosting;

/// <summary>
/// Each model's manifest and version folders as last read from the store. Requests get the known entry at once;
/// the first request after <see cref="ModelHostOptions.RefreshInterval"/> starts one background re-read.
/// </summary>
internal sealed partial class ModelCatalog
{
    private const int MaxManifestBytes = 1 << 20;

    private readonly IModelStore _store;
    private readonly ModelHostOptions _options;
    private readonly TimeProvider _time;
    private readonly BackgroundWork _background;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, CatalogEntry> _entries = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Task<CatalogEntry>> _refreshing = new(StringComparer.Ordinal);

    public ModelCatalog(IModelStore store, ModelHostOptions options, TimeProvider time, BackgroundWork background, ILogger logger)
    {
        _store = store;
        _options = options;
        _time = time;
        _background = background;
        _logger = logger;
    }

    /// <summary>
    /// Awaited by a refresh with the entry it replaces and the new one before the new one is published, so that
    /// requests resolving to another version find it loaded.
    /// </summary>
    public Func<CatalogEntry, CatalogEntry, CancellationToken, Task>? BeforeReplace { get; set; }

    /// <summary>The known entry, even when due for a refresh (which this starts); only an unknown model waits for the store.</summary>
    public async ValueTask<CatalogEntry> GetAsync(string name, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_entries.TryGetValue(name, out var known))
            {
                if (IsDue(known))
                {
                    StartRefreshLocked(name, known);
                }

                return known;
            }
        }

        return await ReadColdAsync(name, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The entry as the store has it now: the known one while fresh, else the result of a refresh (joined if under way).</summary>
    public async Task<CatalogEntry> GetFreshAsync(string name, CancellationToken cancellationToken)
    {
        Task<CatalogEntry>? refreshing;
        lock (_gate)
        {
            if (!_refreshing.TryGetValue(name, out refreshing) && _entries.TryGetValue(name, out var known))
            {
                if (!IsDue(known))
                {
                    return known;
                }

                refreshing = StartRefreshLocked(name, known) ?? Task.FromResult(known);
            }
        }

        return refreshing is null
            ? await ReadColdAsync(name, cancellationToken).ConfigureAwait(false)
            : await refreshing.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Drops the model's entry, so the next request reads it from the store; a refresh under way does not bring it back.</summary>
    public void Forget(string name)
    {
        lock (_gate)
        {
            _entries.Remove(name);
        }
    }

    private bool IsDue(CatalogEntry entry) => _time.GetUtcNow() >= entry.RefreshAt;

    private Task<CatalogEntry>? StartRefreshLocked(string name, CatalogEntry known)
    {
        if (_refreshing.TryGetValue(name, out var running))
        {
            return running;
        }

        // The refresh takes this lock to finish, so it cannot remove itself before it is registered here.
        var started = _background.TryStart(stopping => RefreshAsync(name, known, stopping));
        if (started is not null)
        {
            _refreshing[name] = started;
        }

        return started;
    }

    private async Task<CatalogEntry> RefreshAsync(string name, CatalogEntry known, CancellationToken stopping)
    {
        try
        {
            var entry = await ReadAsync(name, known, stopping).ConfigureAwait(false);
            if (BeforeReplace is { } prepare)
            {
                await prepare(known, entry, stopping).ConfigureAwait(false);
            }

            lock (_gate)
            {
                _refreshing.Remove(name);
                ReplaceLocked(name, known, entry);
            }

            return entry;
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            return known;
        }
        catch (Exception e)
        {
            var removed = e is InferenceException { Kind: InferenceErrorKind.NotFound };
            LogRefreshFailed(_logger, e, name, removed ? "forgotten" : "kept");
            lock (_gate)
            {
                _refreshing.Remove(name);
                if (removed)
                {
                    // The manifest is gone from the store: the next request reads it afresh and is told so.
                    ReplaceLocked(name, known, null);
                }
                else
                {
                    ReplaceLocked(name, known, known with { RefreshAt = _time.GetUtcNow() + _options.FailureRetryInterval });
                }
            }

            return known;
        }
    }

    /// <summary>Only replaces the entry the refresh started from: one forgotten or replaced meanwhile stays as it is.</summary>
    private void ReplaceLocked(string name, CatalogEntry known, CatalogEntry? replacement)
    {
        if (!_entries.TryGetValue(name, out var present) || !ReferenceEquals(present, known))
        {
            return;
        }

        if (replacement is null)
        {
            _entries.Remove(name);
        }
        else
        {
            _entries[name] = replacement;
        }
    }

    private async Task<CatalogEntry> ReadColdAsync(string name, CancellationToken cancellationToken)
    {
        var entry = await ReadAsync(name, null, cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            _entries[name] = entry;
        }

        return entry;
    }

    private async Task<CatalogEntry> ReadAsync(string name, CatalogEntry? known, CancellationToken cancellationToken)
    {
        var manifestFile = await _store.StatAsync(ModelFilePath.Manifest(name), cancellationToken).ConfigureAwait(false)
            ?? throw InferenceException.NotFound($"unknown model '{name}'");

        var manifest = known is not null && known.ManifestIdentity == manifestFile.Identity
            ? known.Manifest
            : await ReadManifestAsync(manifestFile, cancellationToken).ConfigureAwait(false);
        var versions = await _store.ListVersionsAsync(name, cancellationToken).ConfigureAwait(false);
        return new CatalogEntry(name, manifest, manifestFile.Identity, SortVersions(versions), _time.GetUtcNow() + _options.RefreshInterval);
    }

    private async Task<ModelManifest> ReadManifestAsync(StoredFile file, CancellationToken cancellationToken)
    {
        if (file.Length > MaxManifestBytes)
        {
            throw new InferenceException(InferenceErrorKind.Unavailable, $"{file.Path} is larger than {MaxManifestBytes} bytes");
        }

        await using var stream = await _store.OpenReadAsync(file.Path, cancellationToken).ConfigureAwait(false);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        return ModelManifest.Parse(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), file.Path.ToString());
    }

    /// <summary>Named versions in ordinal order, then numeric ones in numeric order: the last is the highest number.</summary>
    private static IReadOnlyList<string> SortVersions(IReadOnlyList<string> versions) =>
        [.. versions.OrderBy(v => long.TryParse(v, out _) ? 1 : 0)
            .ThenBy(v => long.TryParse(v, out var n) ? n : 0)
            .ThenBy(v => v, StringComparer.Ordinal)];

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refreshing the catalogue entry of model {Model} failed; entry {Outcome}")]
    private static partial void LogRefreshFailed(ILogger logger, Exception exception, string model, string outcome);
}

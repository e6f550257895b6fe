using Microsoft.Extensions.Logging;

namespace Serverless.Inference.Hosting;

/// <summary>
/// The loaded model versions: one shared first load per version, background refreshes that swap a changed version in
/// only once it is fully loaded, least recently used versions released beyond the memory budget, and a failed first
/// load remembered until it may be tried again.
/// </summary>
internal sealed partial class ModelLifecycle : IDisposable
{
    private readonly ModelCatalog _catalog;
    private readonly ModelLoader _loader;
    private readonly BackgroundWork _background;
    private readonly ModelHostOptions _options;
    private readonly long _budgetBytes;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly Dictionary<ModelKey, ModelSlot> _slots = [];
    private long _useClock;
    private bool _disposed;

    public ModelLifecycle(ModelCatalog catalog, ModelLoader loader, BackgroundWork background, ModelHostOptions options, long budgetBytes, TimeProvider time, ILogger logger)
    {
        _catalog = catalog;
        _loader = loader;
        _background = background;
        _options = options;
        _budgetBytes = budgetBytes;
        _time = time;
        _logger = logger;
    }

    /// <summary>
    /// The version with one reference added for the caller. A loaded version is returned at once, starting a
    /// background refresh when one is due; only a version not loaded yet waits, for the load all its callers share.
    /// </summary>
    /// <param name="entry">The catalogue entry the version was resolved from, for a first load.</param>
    public async Task<LoadedModel> AcquireAsync(ModelKey key, CatalogEntry entry, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task<LoadedModel> pending;
            lock (_gate)
            {
                ThrowIfDisposed();
                if (!_slots.TryGetValue(key, out var slot))
                {
                    slot = new ModelSlot();
                    _slots[key] = slot;
                }

                slot.LastUsed = ++_useClock;
                var now = _time.GetUtcNow();
                if (slot.Current is { } current && current.TryAddReference())
                {
                    if (now >= slot.RefreshAt && !slot.Refreshing)
                    {
                        slot.Refreshing = _background.TryStart(stopping => RefreshAsync(key, slot, current, stopping)) is not null;
                    }

                    return current;
                }

                if (slot.Failure is { } failure && now < failure.RetryAt)
                {
                    throw new InferenceException(InferenceErrorKind.Unavailable, failure.Message) { Detail = failure.Detail };
                }

                pending = slot.Loading ??= _background.TryStart(stopping => LoadAsync(key, entry, slot, stopping))
                    ?? throw new ObjectDisposedException(nameof(ModelHost));
            }

            var loaded = await pending.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (loaded.TryAddReference())
            {
                return loaded;
            }
        }
    }

    /// <summary>
    /// Loads the versions that the default or an alias moves to in <paramref name="next"/> where the version it moves
    /// from is loaded: requests that follow the move then find their version ready. A failed load is left to the
    /// failure memory, as a request's own would be.
    /// </summary>
    public async Task PrepareAsync(CatalogEntry previous, CatalogEntry next, CancellationToken stopping)
    {
        string?[] names = [null, .. next.Manifest.Aliases.Keys];
        foreach (var moved in names.Select(n => (From: previous.TryResolve(n), To: next.TryResolve(n)))
                     .Where(pair => pair.From is not null && pair.To is not null && pair.From != pair.To)
                     .Distinct()
                     .Where(pair => IsLoaded(new ModelKey(next.Name, pair.From!)) && !IsLoaded(new ModelKey(next.Name, pair.To!)))
                     .ToList())
        {
            try
            {
                (await AcquireAsync(new ModelKey(next.Name, moved.To!), next, stopping).ConfigureAwait(false)).Release();
            }
            catch (Exception e) when (e is InferenceException or ObjectDisposedException or OperationCanceledException)
            {
                // Logged by the load itself where it failed; the catalogue refresh goes on regardless.
            }
        }
    }

    /// <summary>Releases every loaded version of a model; requests in flight finish on what they hold.</summary>
    /// <returns>Whether any version was loaded.</returns>
    public bool Unload(string name)
    {
        var released = new List<LoadedModel>();
        lock (_gate)
        {
            foreach (var key in _slots.Keys.Where(key => key.Model == name).ToList())
            {
                TakeCurrentLocked(_slots[key], released);
                _slots.Remove(key);
            }
        }

        ReleaseAll(released);
        return released.Count > 0;
    }

    public ModelState DescribeState(string name)
    {
        lock (_gate)
        {
            var slots = _slots.Where(pair => pair.Key.Model == name).Select(pair => pair.Value).ToList();
            return slots.Any(s => s.Current is not null) ? ModelState.Ready
                : slots.Any(s => s.Loading is not null) ? ModelState.Loading
                : slots.Any(s => s.Failure is not null) ? ModelState.Failed
                : ModelState.NotLoaded;
        }
    }

    public void Dispose()
    {
        var released = new List<LoadedModel>();
        lock (_gate)
        {
            _disposed = true;
            foreach (var slot in _slots.Values)
            {
                TakeCurrentLocked(slot, released);
            }

            _slots.Clear();
        }

        ReleaseAll(released);
    }

    private bool IsLoaded(ModelKey key)
    {
        lock (_gate)
        {
            return _slots.TryGetValue(key, out var slot) && slot.Current is not null;
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, typeof(ModelHost));

    private async Task<LoadedModel> LoadAsync(ModelKey key, CatalogEntry entry, ModelSlot slot, CancellationToken stopping)
    {
        try
        {
            var loaded = await _loader.LoadAsync(key, entry, null, stopping).ConfigureAwait(false);
            PublishFirst(key, slot, loaded);
            return loaded;
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            lock (_gate)
            {
                slot.Loading = null;
            }

            throw new ObjectDisposedException(nameof(ModelHost));
        }
        catch (Exception e)
        {
            // The runtime's and the store's own words name local paths and storage addresses: they go to the log only.
            var (message, detail) = e is InferenceException known
                ? (known.Message, known.Detail)
                : ($"model '{key.Model}' version {key.Version} failed to load", e.Message);
            LogLoadFailed(_logger, e, key.Model, key.Version);
            lock (_gate)
            {
                slot.Loading = null;
                slot.Failure = new LoadFailure(message, detail, _time.GetUtcNow() + _options.FailureRetryInterval);
            }

            throw new InferenceException(InferenceErrorKind.Unavailable, message, e) { Detail = detail };
        }
    }

    private async Task<bool> RefreshAsync(ModelKey key, ModelSlot slot, LoadedModel current, CancellationToken stopping)
    {
        try
        {
            var entry = await _catalog.GetFreshAsync(key.Model, stopping).ConfigureAwait(false);
            var loaded = await _loader.LoadAsync(key, entry, current, stopping).ConfigureAwait(false);
            Swap(key, slot, current, loaded);
            return true;
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            return false;
        }
        catch (Exception e)
        {
            LogRefreshFailed(_logger, e, key.Model, key.Version, _options.FailureRetryInterval.TotalSeconds);
            lock (_gate)
            {
                slot.Refreshing = false;
                slot.RefreshAt = _time.GetUtcNow() + _options.FailureRetryInterval;
            }

            return false;
        }
    }

    private void PublishFirst(ModelKey key, ModelSlot slot, LoadedModel loaded)
    {
        var released = new List<LoadedModel>();
        lock (_gate)
        {
            slot.Loading = null;
            if (_disposed || (_slots.TryGetValue(key, out var present) && present != slot))
            {
                // Nobody can serve it any more: its waiters see the reference gone and ask again.
                released.Add(loaded);
            }
            else
            {
                // A slot evicted or unloaded while loading comes back: its model is now the most recently used.
                _slots[key] = slot;
                slot.Current = loaded;
                slot.Failure = null;
                slot.RefreshAt = _time.GetUtcNow() + _options.RefreshInterval;
                EvictLocked(slot, released);
            }
        }

        ReleaseAll(released);
    }

    private void Swap(ModelKey key, ModelSlot slot, LoadedModel current, LoadedModel loaded)
    {
        var released = new List<LoadedModel>();
        lock (_gate)
        {
            slot.Refreshing = false;
            slot.RefreshAt = _time.GetUtcNow() + _options.RefreshInterval;
            if (loaded == current)
            {
                return;
            }

            if (_disposed || slot.Current != current || !_slots.TryGetValue(key, out var present) || present != slot)
            {
                // Evicted, unloaded or disposed while the new version loaded: nobody is left to serve it.
                released.Add(loaded);
            }
            else
            {
                slot.Current = loaded;
                released.Add(current);
                EvictLocked(slot, released);
            }
        }

        ReleaseAll(released);
    }

    private void EvictLocked(ModelSlot keep, List<LoadedModel> released)
    {
        var total = _slots.Values.Sum(s => s.Current?.EstimatedBytes ?? 0);
        foreach (var (victimKey, victim) in _slots.Where(pair => pair.Value.Current is not null && pair.Value != keep)
                     .OrderBy(pair => pair.Value.LastUsed).ToList())
        {
            if (total <= _budgetBytes)
            {
                break;
            }

            total -= victim.Current!.EstimatedBytes;
            TakeCurrentLocked(victim, released);
            _slots.Remove(victimKey);
        }
    }

    private static void TakeCurrentLocked(ModelSlot slot, List<LoadedModel> released)
    {
        if (slot.Current is { } current)
        {
            released.Add(current);
            slot.Current = null;
        }
    }

    private void ReleaseAll(List<LoadedModel> models)
    {
        foreach (var model in models)
        {
            LogReleased(_logger, model.Name, model.Version);
            model.Release();
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Loading model {Model} version {Version} failed")]
    private static partial void LogLoadFailed(ILogger logger, Exception exception, string model, string version);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refreshing model {Model} version {Version} failed; the loaded version keeps serving, next try in {RetrySeconds:F0} s")]
    private static partial void LogRefreshFailed(ILogger logger, Exception exception, string model, string version, double retrySeconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Released model {Model} version {Version}")]
    private static partial void LogReleased(ILogger logger, string model, string version);
}

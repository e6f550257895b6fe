using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Serverless.Inference.Artifacts;
using Serverless.Inference.Pipelines;
using Serverless.Inference.Repository;
using Serverless.Inference.Runtime;
using Serverless.Inference.Serving;
using Serverless.Inference.Telemetry;

namespace Serverless.Inference.Hosting;

/// <summary>
/// The process-wide owner of loaded models. Models load lazily on first use; concurrent first requests
/// share one load; warm requests touch no storage until <see cref="ModelHostOptions.RefreshInterval"/>
/// has passed; least recently used models are released beyond the memory budget; a load failure is
/// remembered for its model alone and never blocks the others.
/// </summary>
public sealed class ModelHost : IDisposable
{
    private readonly IModelStore _store;
    private readonly ArtifactCache _cache;
    private readonly ModelHostOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, CatalogEntry> _catalog = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Model, string Version), Slot> _slots = [];
    private long _useClock;
    private bool _disposed;

    public ModelHost(IModelStore store, ModelHostOptions options, TimeProvider? time = null, ILogger<ModelHost>? logger = null)
    {
        _store = store;
        _options = options;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _cache = new ArtifactCache(options.CacheDirectory, _time, _logger);
        Memory = MemoryPlan.From(options);
        Gate = new RequestMemoryGate(Memory.RequestBytes, options.MaxWaitingRequests, options.MaxMemoryWait, _time);
        _logger.LogInformation("Memory plan: {Plan}", Memory);
    }

    /// <summary>How the instance's memory is split between the process, loaded models and running requests.</summary>
    public MemoryPlan Memory { get; }

    /// <summary>Where runs reserve their working memory (<see cref="ModelLease.ReserveAsync"/>).</summary>
    public RequestMemoryGate Gate { get; }

    public IModelStore Store => _store;

    public ArtifactCache Cache => _cache;

    /// <summary>Session creations so far, for tests and diagnostics.</summary>
    public int SessionsCreated => Volatile.Read(ref _sessionsCreated);

    private int _sessionsCreated;

    /// <summary>Gets a model version ready to run, loading it if needed. Dispose the lease after the request.</summary>
    /// <param name="version">A version folder, an alias, or null for the manifest's default.</param>
    public async Task<ModelLease> AcquireAsync(string name, string? version, CancellationToken cancellationToken)
    {
        ModelNames.Require(name, "model name");
        if (version is not null)
        {
            ModelNames.Require(version, "model version");
        }

        var entry = await GetCatalogEntryAsync(name, cancellationToken).ConfigureAwait(false);
        var resolved = entry.Resolve(version);
        var key = (name, resolved);

        while (true)
        {
            Task<LoadedModel> pending;
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (!_slots.TryGetValue(key, out var slot))
                {
                    slot = new Slot();
                    _slots[key] = slot;
                }

                slot.LastUsed = ++_useClock;
                var now = _time.GetUtcNow();
                if (slot.Current is { } current && now - slot.CheckedAt < _options.RefreshInterval && current.TryAddReference())
                {
                    return new ModelLease(current);
                }

                if (slot.Current is null && slot.Failure is { } failure && now < failure.RetryAt)
                {
                    throw new InferenceException(InferenceErrorKind.Unavailable, failure.Message) { Detail = failure.Detail };
                }

                pending = slot.Loading ??= LoadOrRevalidateAsync(key, entry, slot);
            }

            var loaded = await pending.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (loaded.TryAddReference())
            {
                return new ModelLease(loaded);
            }
        }
    }

    /// <summary>A model's version folders, lowest first, from the cached catalog; does not load anything.</summary>
    public async Task<IReadOnlyList<string>> ListVersionsAsync(string name, CancellationToken cancellationToken)
    {
        ModelNames.Require(name, "model name");
        return (await GetCatalogEntryAsync(name, cancellationToken).ConfigureAwait(false)).Versions;
    }

    /// <summary>The models in the store with their versions and load state; does not load anything.</summary>
    public async Task<IReadOnlyList<ModelStatus>> ListAsync(CancellationToken cancellationToken)
    {
        var names = await _store.ListModelsAsync(cancellationToken).ConfigureAwait(false);
        var statuses = new List<ModelStatus>(names.Count);
        foreach (var name in names)
        {
            try
            {
                var entry = await GetCatalogEntryAsync(name, cancellationToken).ConfigureAwait(false);
                statuses.Add(new ModelStatus(name, entry.Versions, entry.DefaultVersionOrNull(), DescribeState(name), null));
            }
            catch (InferenceException e)
            {
                statuses.Add(new ModelStatus(name, [], null, ModelState.Failed, e.Message));
            }
        }

        return statuses;
    }

    /// <summary>
    /// Releases every loaded version of a model (requests in flight finish first) and forgets its catalogue entry,
    /// so the next request loads it afresh from the store.
    /// </summary>
    /// <returns>Whether any version was loaded.</returns>
    public bool Unload(string name)
    {
        ModelNames.Require(name, "model name");
        var released = new List<LoadedModel>();
        lock (_gate)
        {
            _catalog.Remove(name);
            foreach (var key in _slots.Keys.Where(key => key.Model == name).ToList())
            {
                if (_slots[key].Current is { } loaded)
                {
                    released.Add(loaded);
                }

                _slots.Remove(key);
            }
        }

        ReleaseAll(released);
        return released.Count > 0;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            foreach (var slot in _slots.Values)
            {
                slot.Current?.Release();
                slot.Current = null;
            }

            _slots.Clear();
        }
    }

    private ModelState DescribeState(string name)
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

    private async Task<CatalogEntry> GetCatalogEntryAsync(string name, CancellationToken cancellationToken)
    {
        CatalogEntry? known;
        lock (_gate)
        {
            _catalog.TryGetValue(name, out known);
        }

        if (known is not null && _time.GetUtcNow() - known.CheckedAt < _options.RefreshInterval)
        {
            return known;
        }

        var manifestFile = await _store.StatAsync(ModelFilePath.Manifest(name), cancellationToken).ConfigureAwait(false)
            ?? throw InferenceException.NotFound($"unknown model '{name}'");

        var manifest = known is not null && known.ManifestIdentity == manifestFile.Identity
            ? known.Manifest
            : await ReadManifestAsync(manifestFile, cancellationToken).ConfigureAwait(false);
        var versions = await _store.ListVersionsAsync(name, cancellationToken).ConfigureAwait(false);
        var entry = new CatalogEntry(name, manifest, manifestFile.Identity, SortVersions(versions), _time.GetUtcNow());
        lock (_gate)
        {
            _catalog[name] = entry;
        }

        return entry;
    }

    private async Task<ModelManifest> ReadManifestAsync(StoredFile file, CancellationToken cancellationToken)
    {
        const int MaxManifestBytes = 1 << 20;
        if (file.Length > MaxManifestBytes)
        {
            throw new InferenceException(InferenceErrorKind.Unavailable, $"{file.Path} is larger than {MaxManifestBytes} bytes");
        }

        await using var stream = await _store.OpenReadAsync(file.Path, cancellationToken).ConfigureAwait(false);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        return ModelManifest.Parse(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), file.Path.ToString());
    }

    private async Task<LoadedModel> LoadOrRevalidateAsync((string Model, string Version) key, CatalogEntry entry, Slot slot)
    {
        // Loads are shared by every waiting request, so no single request's cancellation may stop them.
        await Task.Yield();
        LoadedModel? current;
        lock (_gate)
        {
            current = slot.Current;
        }

        try
        {
            var file = await _store.StatAsync(ModelFilePath.Onnx(key.Model, key.Version), CancellationToken.None).ConfigureAwait(false)
                ?? throw new InferenceException(InferenceErrorKind.Unavailable, $"model '{key.Model}' version {key.Version} has no {ModelFilePath.ModelFileName}");
            var identity = ModelIdentity(entry, file);
            var loaded = current is not null && current.Identity == identity
                ? current
                : await LoadAsync(key, entry, file, identity).ConfigureAwait(false);
            Publish(key, slot, loaded);
            return loaded;
        }
        catch (Exception e)
        {
            // The runtime's and the store's own words name local paths and storage addresses: they go to the log only.
            var (message, detail) = e is InferenceException known
                ? (known.Message, known.Detail)
                : ($"model '{key.Model}' version {key.Version} failed to load", e.Message);
            _logger.LogError(e, "Loading model {Model} version {Version} failed", key.Model, key.Version);
            lock (_gate)
            {
                slot.Loading = null;
                slot.Failure = (message, detail, _time.GetUtcNow() + _options.FailureRetryInterval);
                if (current is not null)
                {
                    // The store could not be checked: keep serving what was loaded, and check again later.
                    slot.CheckedAt = _time.GetUtcNow();
                    return current;
                }
            }

            throw new InferenceException(InferenceErrorKind.Unavailable, message, e) { Detail = detail };
        }
    }

    private async Task<LoadedModel> LoadAsync((string Model, string Version) key, CatalogEntry entry, StoredFile file, string identity)
    {
        using var activity = InferenceTelemetry.Source.StartActivity("model.load");
        activity?.SetTag("model.name", key.Model);
        activity?.SetTag("model.version", key.Version);

        var stopwatch = Stopwatch.StartNew();
        var localPath = await _cache.GetLocalPathAsync(_store, file, CancellationToken.None).ConfigureAwait(false);
        var assets = await GetAssetsAsync(key, entry.Manifest).ConfigureAwait(false);
        var download = stopwatch.Elapsed;

        stopwatch.Restart();
        var manifest = entry.Manifest;
        var optimizedGraph = manifest.OptimizedGraphCache ? _cache.GetDerivedPath(OnnxModelFactory.OptimizedGraphIdentity(identity), "optimized.onnx") : null;
        var fromCache = optimizedGraph is not null && File.Exists(optimizedGraph);
        var threads = manifest.IntraOpThreads > 0 ? manifest.IntraOpThreads : _options.DefaultIntraOpThreads;
        var model = OnnxModelFactory.Create(localPath, manifest, threads, optimizedGraph);
        Interlocked.Increment(ref _sessionsCreated);
        IInferenceModel endpoint;
        try
        {
            endpoint = manifest.Pipeline is { } pipeline
                ? PipelineModel.Create(model, pipeline, assets, $"{key.Model}/{ModelFilePath.ManifestFileName}")
                : model;
        }
        catch
        {
            model.Dispose();
            throw;
        }

        var sessionCreate = stopwatch.Elapsed;

        stopwatch.Restart();
        if (manifest.Warmup)
        {
            Warmup(key, model);
        }

        var report = new LoadReport(download, sessionCreate, stopwatch.Elapsed, fromCache);
        RecordPhases(key, report);
        _logger.LogInformation(
            "Loaded model {Model} version {Version} in {TotalMs:F0} ms (download {DownloadMs:F0}, session {SessionMs:F0}, warmup {WarmupMs:F0})",
            key.Model, key.Version, report.Total.TotalMilliseconds, download.TotalMilliseconds, sessionCreate.TotalMilliseconds, report.Warmup.TotalMilliseconds);
        return new LoadedModel(key.Model, key.Version, identity, manifest, model, file.Length * 2, report)
        {
            FileIdentity = file.Identity,
            Endpoint = endpoint,
            Gate = Gate,
            Batcher = manifest.DynamicBatching is { } batching ? new DynamicBatcher(endpoint, manifest.MaxBatchSize, batching, key.Model, key.Version) : null,
        };
    }

    /// <summary>The files the manifest's pipeline steps name, from the version folder, as local paths.</summary>
    private async Task<IReadOnlyDictionary<string, string>> GetAssetsAsync((string Model, string Version) key, ModelManifest manifest)
    {
        var paths = new Dictionary<string, string>(StringComparer.Ordinal);
        var steps = manifest.Pipeline is { } pipeline ? pipeline.Preprocess.Concat(pipeline.Postprocess) : [];
        foreach (var asset in steps.SelectMany(step => step.Assets).Distinct(StringComparer.Ordinal))
        {
            var path = new ModelFilePath(key.Model, key.Version, asset);
            var file = await _store.StatAsync(path, CancellationToken.None).ConfigureAwait(false)
                ?? throw new InferenceException(InferenceErrorKind.Unavailable, $"model '{key.Model}' version {key.Version} has no {asset}, which its pipeline needs");
            paths[asset] = await _cache.GetLocalPathAsync(_store, file, CancellationToken.None).ConfigureAwait(false);
        }

        return paths;
    }

    private void Warmup((string Model, string Version) key, OnnxModel model)
    {
        var inputs = model.Signature.Inputs.Select(WarmupInput).ToList();
        try
        {
            using var outputs = model.Run(inputs, null, CancellationToken.None);
        }
        catch (InferenceException e)
        {
            // A model may reject zeros (say, a token id it never saw); warming up is only an optimisation.
            _logger.LogWarning("Warmup of model {Model} version {Version} skipped: {Reason}", key.Model, key.Version, e.Message);
        }
        finally
        {
            inputs.ForEach(input => input.Dispose());
        }
    }

    private static InputTensor WarmupInput(TensorSpec spec)
    {
        long[] shape = [.. spec.Shape.Select(d => d < 0 ? 1 : d)];
        var count = checked((int)shape.Aggregate(1L, (product, d) => product * d));
        if (spec.DataType == TensorDataType.Bytes)
        {
            return InputTensor.CreateBytes(spec.Name, shape, [.. Enumerable.Range(0, count).Select(_ => Array.Empty<byte>())]);
        }

        var tensor = InputTensor.CreateNumeric(spec.Name, spec.DataType, shape, count);
        tensor.Bytes.Clear();
        return tensor;
    }

    private void Publish((string Model, string Version) key, Slot slot, LoadedModel loaded)
    {
        var evicted = new List<LoadedModel>();
        lock (_gate)
        {
            if (_disposed)
            {
                // A load that finishes after the host is gone is released at once; its waiters see the host disposed.
                slot.Loading = null;
                evicted.Add(loaded);
            }
            else
            {
                PublishLocked(key, slot, loaded, evicted);
            }
        }

        ReleaseAll(evicted);
    }

    private void PublishLocked((string Model, string Version) key, Slot slot, LoadedModel loaded, List<LoadedModel> evicted)
    {
        var previous = slot.Current;
        slot.Current = loaded;
        slot.Loading = null;
        slot.Failure = null;
        slot.CheckedAt = _time.GetUtcNow();
        if (previous is not null && previous != loaded)
        {
            evicted.Add(previous);
        }

        if (!_slots.ContainsKey(key))
        {
            // The slot was evicted while loading; the model just loaded is the most recent, so it stays.
            _slots[key] = slot;
        }

        var total = _slots.Values.Sum(s => s.Current?.EstimatedBytes ?? 0);
        foreach (var (victimKey, victim) in _slots.Where(pair => pair.Value.Current is not null && pair.Value != slot)
                     .OrderBy(pair => pair.Value.LastUsed).ToList())
        {
            if (total <= Memory.ModelBytes)
            {
                break;
            }

            total -= victim.Current!.EstimatedBytes;
            evicted.Add(victim.Current);
            _slots.Remove(victimKey);
        }
    }

    private void ReleaseAll(List<LoadedModel> models)
    {
        foreach (var model in models)
        {
            _logger.LogInformation("Released model {Model} version {Version}", model.Name, model.Version);
            model.Release();
        }
    }

    private static void RecordPhases((string Model, string Version) key, LoadReport report)
    {
        var model = new KeyValuePair<string, object?>("model.name", key.Model);
        var version = new KeyValuePair<string, object?>("model.version", key.Version);
        InferenceTelemetry.ModelLoadDuration.Record(report.Download.TotalSeconds, model, version, new("phase", "download"));
        InferenceTelemetry.ModelLoadDuration.Record(report.SessionCreate.TotalSeconds, model, version, new("phase", "session_create"));
        InferenceTelemetry.ModelLoadDuration.Record(report.Warmup.TotalSeconds, model, version, new("phase", "warmup"));
    }

    private static string ModelIdentity(CatalogEntry entry, StoredFile file) =>
        "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{entry.ManifestIdentity}\n{file.Identity}")));

    /// <summary>Named versions in ordinal order, then numeric ones in numeric order: the last is the highest number.</summary>
    private static IReadOnlyList<string> SortVersions(IReadOnlyList<string> versions) =>
        [.. versions.OrderBy(v => long.TryParse(v, out _) ? 1 : 0)
            .ThenBy(v => long.TryParse(v, out var n) ? n : 0)
            .ThenBy(v => v, StringComparer.Ordinal)];

    private sealed class Slot
    {
        public LoadedModel? Current { get; set; }

        public Task<LoadedModel>? Loading { get; set; }

        public (string Message, string? Detail, DateTimeOffset RetryAt)? Failure { get; set; }

        public DateTimeOffset CheckedAt { get; set; }

        public long LastUsed { get; set; }
    }

    private sealed record CatalogEntry(string Name, ModelManifest Manifest, string ManifestIdentity, IReadOnlyList<string> Versions, DateTimeOffset CheckedAt)
    {
        public string? DefaultVersionOrNull()
        {
            try
            {
                return Resolve(null);
            }
            catch (InferenceException)
            {
                return null;
            }
        }

        public string Resolve(string? requested)
        {
            var wanted = requested ?? Manifest.DefaultVersion;
            if (wanted is null)
            {
                return Versions.Count > 0
                    ? Versions[^1]
                    : throw new InferenceException(InferenceErrorKind.Unavailable, $"model '{Name}' has no version folder with a {ModelFilePath.ModelFileName}");
            }

            var version = Manifest.Aliases.TryGetValue(wanted, out var aliased) ? aliased : wanted;
            return Versions.Contains(version, StringComparer.Ordinal)
                ? version
                : requested is null
                    ? throw new InferenceException(InferenceErrorKind.Unavailable, $"model '{Name}' names default version '{wanted}', which does not exist")
                    : throw InferenceException.NotFound($"model '{Name}' has no version '{requested}' (versions: {string.Join(", ", Versions)})");
        }
    }
}

public enum ModelState
{
    NotLoaded,
    Loading,
    Ready,
    Failed,
}

public sealed record ModelStatus(string Name, IReadOnlyList<string> Versions, string? DefaultVersion, ModelState State, string? Error);

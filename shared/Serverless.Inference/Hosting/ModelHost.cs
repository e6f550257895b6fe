using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Serverless.Inference.Artifacts;
using Serverless.Inference.Repository;
using Serverless.Inference.Serving;

namespace Serverless.Inference.Hosting;

/// <summary>
/// The process-wide owner of loaded models. Models load lazily on first use; concurrent first requests share one
/// load; warm requests never wait on storage: after <see cref="ModelHostOptions.RefreshInterval"/> the store is
/// checked in the background and a changed model swapped in once loaded; least recently used models are released
/// beyond the memory budget; a load failure is remembered for its model alone and never blocks the others.
/// </summary>
public sealed partial class ModelHost : IDisposable
{
    private readonly BackgroundWork _background = new();
    private readonly ModelCatalog _catalog;
    private readonly ModelLoader _loader;
    private readonly ModelLifecycle _lifecycle;

    public ModelHost(IModelStore store, ModelHostOptions options, TimeProvider? time = null, ILogger<ModelHost>? logger = null)
    {
        var clock = time ?? TimeProvider.System;
        var log = logger ?? (ILogger)NullLogger.Instance;
        Store = store;
        Cache = new ArtifactCache(options.CacheDirectory, clock, log);
        Memory = MemoryPlan.From(options);
        Gate = new RequestMemoryGate(Memory.RequestBytes, options.MaxWaitingRequests, options.MaxMemoryWait, clock);
        _catalog = new ModelCatalog(store, options, clock, _background, log);
        Statistics = new InferenceStatistics(clock);
        _loader = new ModelLoader(store, Cache, options, Gate, Statistics, log);
        _lifecycle = new ModelLifecycle(_catalog, _loader, _background, options, Memory.ModelBytes, clock, log);
        _catalog.BeforeReplace = _lifecycle.PrepareAsync;
        LogMemoryPlan(log, Memory);
    }

    /// <summary>How the instance's memory is split between the process, loaded models and running requests.</summary>
    internal MemoryPlan Memory { get; }

    /// <summary>Where runs reserve their working memory (<see cref="ModelLease.ReserveAsync"/>).</summary>
    internal RequestMemoryGate Gate { get; }

    internal IModelStore Store { get; }

    /// <summary>Per model version counts and durations since start (Triton's statistics extension).</summary>
    internal InferenceStatistics Statistics { get; }

    internal ArtifactCache Cache { get; }

    /// <summary>Session creations so far, for tests and diagnostics.</summary>
    public int SessionsCreated => _loader.SessionsCreated;

    /// <summary>Gets a model version ready to run, loading it if needed. Dispose the lease after the request.</summary>
    /// <param name="version">A version folder, an alias, or null for the manifest's default.</param>
    public async Task<ModelLease> AcquireAsync(string name, string? version, CancellationToken cancellationToken)
    {
        ModelNames.Require(name, "model name");
        if (version is not null)
        {
            ModelNames.Require(version, "model version");
        }

        var entry = await _catalog.GetAsync(name, cancellationToken).ConfigureAwait(false);
        var key = new ModelKey(name, entry.Resolve(version));
        return new ModelLease(await _lifecycle.AcquireAsync(key, entry, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>The version folder <paramref name="version"/> (a folder, an alias, or null for the default) names, from the cached catalog; loads nothing.</summary>
    internal async Task<string> ResolveVersionAsync(string name, string? version, CancellationToken cancellationToken)
    {
        ModelNames.Require(name, "model name");
        if (version is not null)
        {
            ModelNames.Require(version, "model version");
        }

        var entry = await _catalog.GetAsync(name, cancellationToken).ConfigureAwait(false);
        return entry.Resolve(version);
    }

    /// <summary>A model's version folders, lowest first, from the cached catalog; does not load anything.</summary>
    public async Task<IReadOnlyList<string>> ListVersionsAsync(string name, CancellationToken cancellationToken)
    {
        ModelNames.Require(name, "model name");
        return (await _catalog.GetAsync(name, cancellationToken).ConfigureAwait(false)).Versions;
    }

    /// <summary>The models in the store with their versions and load state; does not load anything.</summary>
    public async Task<IReadOnlyList<ModelStatus>> ListAsync(CancellationToken cancellationToken)
    {
        var names = await Store.ListModelsAsync(cancellationToken).ConfigureAwait(false);
        var statuses = new List<ModelStatus>(names.Count);
        foreach (var name in names)
        {
            try
            {
                var entry = await _catalog.GetAsync(name, cancellationToken).ConfigureAwait(false);
                statuses.Add(new ModelStatus(name, entry.Versions, entry.DefaultVersionOrNull(), _lifecycle.DescribeState(name), null));
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
    internal bool Unload(string name)
    {
        ModelNames.Require(name, "model name");
        _catalog.Forget(name);
        return _lifecycle.Unload(name);
    }

    public void Dispose()
    {
        _background.Dispose();
        _lifecycle.Dispose();
    }

    /// <summary>Completes when no load or refresh is running in the background, for tests and benchmarks.</summary>
    internal Task WhenBackgroundIdleAsync() => _background.WhenIdleAsync();

    [LoggerMessage(Level = LogLevel.Information, Message = "Memory plan: {Plan}")]
    private static partial void LogMemoryPlan(ILogger logger, MemoryPlan plan);
}

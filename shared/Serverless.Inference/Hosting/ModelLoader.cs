using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Serverless.Inference.Artifacts;
using Serverless.Inference.Monitoring;
using Serverless.Inference.Pipelines;
using Serverless.Inference.Repository;
using Serverless.Inference.Runtime;
using Serverless.Inference.Serving;
using Serverless.Inference.Telemetry;

namespace Serverless.Inference.Hosting;

/// <summary>
/// Turns a model version in the store into a <see cref="LoadedModel"/>: local files through the artifact cache,
/// the session, the manifest's pipeline and a warm-up run, with the time of each phase reported.
/// </summary>
internal sealed partial class ModelLoader
{
    private readonly IModelStore _store;
    private readonly ArtifactCache _cache;
    private readonly ModelHostOptions _options;
    private readonly RequestMemoryGate _gate;
    private readonly InferenceStatistics _statistics;
    private readonly ILogger _logger;
    private int _sessionsCreated;

    public ModelLoader(IModelStore store, ArtifactCache cache, ModelHostOptions options, RequestMemoryGate gate, InferenceStatistics statistics, ILogger logger)
    {
        _store = store;
        _cache = cache;
        _options = options;
        _gate = gate;
        _statistics = statistics;
        _logger = logger;
    }

    public int SessionsCreated => Volatile.Read(ref _sessionsCreated);

    /// <summary>
    /// The version as the store has it now: <paramref name="current"/> itself when neither its file nor its manifest
    /// changed, else a newly loaded model (the caller owns its one reference).
    /// </summary>
    public async Task<LoadedModel> LoadAsync(ModelKey key, CatalogEntry entry, LoadedModel? current, CancellationToken cancellationToken)
    {
        var file = await _store.StatAsync(ModelFilePath.Onnx(key.Model, key.Version), cancellationToken).ConfigureAwait(false)
            ?? throw new InferenceException(InferenceErrorKind.Unavailable, $"model '{key.Model}' version {key.Version} has no {ModelFilePath.ModelFileName}");
        var identity = ModelIdentity(entry, file);
        return current is not null && current.Identity == identity
            ? current
            : await LoadNewAsync(key, entry.Manifest, file, identity, cancellationToken).ConfigureAwait(false);
    }

    private async Task<LoadedModel> LoadNewAsync(ModelKey key, ModelManifest manifest, StoredFile file, string identity, CancellationToken cancellationToken)
    {
        using var activity = InferenceTelemetry.Source.StartActivity("model.load");
        activity?.SetTag("model.name", key.Model);
        activity?.SetTag("model.version", key.Version);

        var stopwatch = Stopwatch.StartNew();
        var localPath = await _cache.GetLocalPathAsync(_store, file, cancellationToken).ConfigureAwait(false);
        var assets = await GetAssetsAsync(key, manifest, cancellationToken).ConfigureAwait(false);
        var download = stopwatch.Elapsed;

        stopwatch.Restart();
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
            CheckCapture(key, manifest, endpoint, model);
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
        LogLoaded(_logger, key.Model, key.Version, report.Total.TotalMilliseconds, download.TotalMilliseconds, sessionCreate.TotalMilliseconds, report.Warmup.TotalMilliseconds);
        return new LoadedModel(key.Model, key.Version, identity, manifest, model, file.Length * 2, report)
        {
            FileIdentity = file.Identity,
            Endpoint = endpoint,
            Gate = _gate,
            Batcher = manifest.DynamicBatching is { } batching && _options.DynamicBatching ? new DynamicBatcher(endpoint, manifest.MaxBatchSize, batching, _statistics.For(key.Model, key.Version)) : null,
            Capture = _options.Capture is { } writer && manifest.Monitoring?.Capture is { } capture
                ? new ModelCapture(writer, capture, key.Model, key.Version, identity, manifest.MaxBatchSize > 0)
                : null,
        };
    }

    /// <summary>Redacted names must be inputs callers can send: the endpoint's, or the bare model's, which stay reachable.</summary>
    private static void CheckCapture(ModelKey key, ModelManifest manifest, IInferenceModel endpoint, OnnxModel model)
    {
        if (manifest.Monitoring?.Capture is { } capture
            && capture.UnknownRedactions(endpoint.Signature.Inputs.Concat(model.Signature.Inputs).Select(input => input.Name)) is [_, ..] unknown)
        {
            throw new InferenceException(
                InferenceErrorKind.Unavailable,
                $"{key.Model}/{ModelFilePath.ManifestFileName}: monitoring.capture.redact names {string.Join(", ", unknown.Select(name => $"'{name}'"))}, not an input of the model");
        }
    }

    /// <summary>The files the manifest's pipeline steps name, from the version folder, as local paths.</summary>
    private async Task<IReadOnlyDictionary<string, string>> GetAssetsAsync(ModelKey key, ModelManifest manifest, CancellationToken cancellationToken)
    {
        var paths = new Dictionary<string, string>(StringComparer.Ordinal);
        var steps = manifest.Pipeline is { } pipeline ? pipeline.Preprocess.Concat(pipeline.Postprocess) : [];
        foreach (var asset in steps.SelectMany(step => step.Assets).Distinct(StringComparer.Ordinal))
        {
            var path = new ModelFilePath(key.Model, key.Version, asset);
            var file = await _store.StatAsync(path, cancellationToken).ConfigureAwait(false)
                ?? throw new InferenceException(InferenceErrorKind.Unavailable, $"model '{key.Model}' version {key.Version} has no {asset}, which its pipeline needs");
            paths[asset] = await _cache.GetLocalPathAsync(_store, file, cancellationToken).ConfigureAwait(false);
        }

        return paths;
    }

    private void Warmup(ModelKey key, OnnxModel model)
    {
        var inputs = model.Signature.Inputs.Select(WarmupInput).ToList();
        try
        {
            using var outputs = model.Run(inputs, null, CancellationToken.None);
        }
        catch (InferenceException e)
        {
            // A model may reject zeros (say, a token id it never saw); warming up is only an optimisation.
            LogWarmupSkipped(_logger, key.Model, key.Version, e.Message);
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

    private static void RecordPhases(ModelKey key, LoadReport report)
    {
        var model = new KeyValuePair<string, object?>("model.name", key.Model);
        var version = new KeyValuePair<string, object?>("model.version", key.Version);
        InferenceTelemetry.ModelLoadDuration.Record(report.Download.TotalSeconds, model, version, new("phase", "download"));
        InferenceTelemetry.ModelLoadDuration.Record(report.SessionCreate.TotalSeconds, model, version, new("phase", "session_create"));
        InferenceTelemetry.ModelLoadDuration.Record(report.Warmup.TotalSeconds, model, version, new("phase", "warmup"));
    }

    private static string ModelIdentity(CatalogEntry entry, StoredFile file) =>
        "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{entry.ManifestIdentity}\n{file.Identity}")));

    [LoggerMessage(Level = LogLevel.Information, Message = "Loaded model {Model} version {Version} in {TotalMs:F0} ms (download {DownloadMs:F0}, session {SessionMs:F0}, warmup {WarmupMs:F0})")]
    private static partial void LogLoaded(ILogger logger, string model, string version, double totalMs, double downloadMs, double sessionMs, double warmupMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Warmup of model {Model} version {Version} skipped: {Reason}")]
    private static partial void LogWarmupSkipped(ILogger logger, string model, string version, string reason);
}

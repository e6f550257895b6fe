using Serverless.Inference.Repository;
using Serverless.Inference.Runtime;
using Serverless.Inference.Serving;

namespace Serverless.Inference.Hosting;

/// <summary>Time spent in each phase of a model load.</summary>
public sealed record LoadReport(TimeSpan Download, TimeSpan SessionCreate, TimeSpan Warmup, bool OptimizedGraphFromCache)
{
    public TimeSpan Total => Download + SessionCreate + Warmup;
}

/// <summary>
/// A loaded model version with a reference count: the host holds one reference, each request another.
/// The session is disposed when the last reference goes, so an evicted or replaced model lets requests
/// in flight finish on the session they started with.
/// </summary>
internal sealed class LoadedModel
{
    private int _references = 1;

    public LoadedModel(string name, string version, string identity, ModelManifest manifest, OnnxModel model, long estimatedBytes, LoadReport report)
    {
        Name = name;
        Version = version;
        Identity = identity;
        Manifest = manifest;
        Model = model;
        EstimatedBytes = estimatedBytes;
        Report = report;
    }

    public string Name { get; }

    public string Version { get; }

    /// <summary>Changes when the model file or its manifest changes.</summary>
    public string Identity { get; }

    /// <summary>The model file's own identity in the store, to notice a replaced file.</summary>
    public string FileIdentity { get; init; } = "";

    internal ModelManifest Manifest { get; }

    internal OnnxModel Model { get; }

    /// <summary>What callers talk to: the manifest's pipeline around the model, or the model itself.</summary>
    internal IInferenceModel Endpoint { get; init; } = null!;

    public long EstimatedBytes { get; }

    /// <summary>The host's admission by memory, where runs on this model reserve what they need.</summary>
    public RequestMemoryGate Gate { get; init; } = null!;

    /// <summary>Merges concurrent requests into shared runs, when the manifest asks for dynamic batching.</summary>
    public DynamicBatcher? Batcher { get; init; }

    public LoadReport Report { get; }

    public bool TryAddReference()
    {
        var current = Volatile.Read(ref _references);
        while (current > 0)
        {
            var seen = Interlocked.CompareExchange(ref _references, current + 1, current);
            if (seen == current)
            {
                return true;
            }

            current = seen;
        }

        return false;
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            Model.Dispose();
        }
    }
}

/// <summary>A request's hold on a model version; dispose it when the request is done.</summary>
public sealed class ModelLease : IDisposable
{
    private LoadedModel? _model;

    internal ModelLease(LoadedModel model) => _model = model;

    private LoadedModel Loaded => _model ?? throw new ObjectDisposedException(nameof(ModelLease));

    public string Name => Loaded.Name;

    public string Version => Loaded.Version;

    /// <summary>Names this exact model: it changes whenever the model file or the manifest changes.</summary>
    public string Identity => Loaded.Identity;

    internal ModelManifest Manifest => Loaded.Manifest;

    /// <summary>The bare ONNX model: its raw tensor signature and session.</summary>
    internal OnnxModel Model => Loaded.Model;

    /// <summary>What callers send and get back: the manifest's pipeline around the model, or the model itself.</summary>
    internal IInferenceModel Endpoint => Loaded.Endpoint;

    public LoadReport LoadReport => Loaded.Report;

    /// <summary>The bare model's tensor signature.</summary>
    public ModelSignature Signature => Loaded.Model.Signature;

    /// <summary>The working memory one row takes at the largest shape the model accepts.</summary>
    internal long RowBytes => Loaded.Model.RowBytes;

    internal RequestMemoryGate Gate => Loaded.Gate;

    internal DynamicBatcher? Batcher => Loaded.Batcher;

    /// <summary>
    /// Reserves the working memory a run on these inputs is estimated to need, waiting for running requests to finish
    /// when it does not fit yet. Dispose the reservation when the run is done.
    /// </summary>
    /// <exception cref="InferenceException">PayloadTooLarge when it could never fit; TooManyRequests when an online wait is over.</exception>
    internal ValueTask<MemoryReservation> ReserveAsync(IReadOnlyList<InputTensor> inputs, MemoryWait wait, CancellationToken cancellationToken) =>
        Loaded.Gate.EnterAsync(Loaded.Endpoint.EstimateWorkingBytes(inputs), wait, cancellationToken);

    public void Dispose() => Interlocked.Exchange(ref _model, null)?.Release();
}

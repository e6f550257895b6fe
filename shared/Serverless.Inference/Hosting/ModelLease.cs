using Serverless.Inference.Monitoring;
using Serverless.Inference.Repository;
using Serverless.Inference.Runtime;
using Serverless.Inference.Serving;

namespace Serverless.Inference.Hosting;

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

    internal ModelCapture? Capture => Loaded.Capture;

    /// <summary>
    /// Reserves the working memory a run on these inputs is estimated to need, waiting for running requests to finish
    /// when it does not fit yet. Dispose the reservation when the run is done.
    /// </summary>
    /// <exception cref="InferenceException">PayloadTooLarge when it could never fit; TooManyRequests when an online wait is over.</exception>
    internal ValueTask<MemoryReservation> ReserveAsync(IReadOnlyList<InputTensor> inputs, MemoryWait wait, CancellationToken cancellationToken) =>
        Loaded.Gate.EnterAsync(Loaded.Endpoint.EstimateWorkingBytes(inputs), wait, cancellationToken);

    public void Dispose() => Interlocked.Exchange(ref _model, null)?.Release();
}

using Serverless.Inference.Monitoring;
using Serverless.Inference.Repository;
using Serverless.Inference.Runtime;
using Serverless.Inference.Serving;

namespace Serverless.Inference.Hosting;

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

    /// <summary>Sampled request/response capture, when the manifest asks for it and the host has somewhere to write.</summary>
    public ModelCapture? Capture { get; init; }

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

using Serverless.Inference.Hosting;
using Serverless.Inference.Runtime;

namespace Serverless.Inference.Serving;

/// <summary>A request's outputs and the model version that produced them; holds the version and the outputs' memory until disposed.</summary>
internal sealed class InferenceResult(ModelLease lease, MemoryReservation memory, ModelOutputs outputs) : IDisposable
{
    public string ModelName => lease.Name;

    public string Version => lease.Version;

    public ModelOutputs Outputs => outputs;

    public void Dispose()
    {
        outputs.Dispose();
        memory.Dispose();
        lease.Dispose();
    }
}

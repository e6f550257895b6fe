using Serverless.Inference.Runtime;

namespace Serverless.Inference.Pipelines;

/// <summary>The <c>pipeline</c> section of <c>model.json</c>: what callers send, the steps around the model, what they get back.</summary>
// Settable rather than init-only: the JSON source generator resets unset init-only properties to default.
internal sealed record PipelineManifest
{
    /// <summary>What a caller sends, e.g. <c>{"name": "text", "datatype": "BYTES", "shape": [-1]}</c>; -1 for a dynamic dimension.</summary>
    public IReadOnlyList<PipelineTensorSpec> Inputs { get; set; } = [];

    public IReadOnlyList<PipelineStep> Preprocess { get; set; } = [];

    public IReadOnlyList<PipelineStep> Postprocess { get; set; } = [];

    /// <summary>What a caller gets back, by name, with the datatype and shape the metadata shows.</summary>
    public IReadOnlyList<PipelineTensorSpec> Outputs { get; set; } = [];
}

internal sealed record PipelineTensorSpec(string Name, string Datatype, IReadOnlyList<long> Shape)
{
    internal TensorSpec ToSpec(string source) =>
        TensorDataTypes.TryParse(Datatype, out var type)
            ? new TensorSpec(Name, type, Shape)
            : throw new InferenceException(InferenceErrorKind.Unavailable, $"{source}: pipeline tensor '{Name}' has an unknown datatype '{Datatype}'");
}

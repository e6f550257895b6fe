using System.Text.Json.Serialization;
using Serverless.Inference.Protocol;
using Serverless.Inference.Runtime;

namespace Serverless.Inference.Pipelines;

/// <summary>
/// One named step of a model's pipeline, as <c>model.json</c> declares it: <c>{"type": "...", ...options}</c>.
/// Each step reads tensors by name and adds new ones; the pipeline checks at load time that every
/// tensor a step or the model needs is produced by something before it.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type", UnknownDerivedTypeHandling = JsonUnknownDerivedTypeHandling.FailSerialization)]
[JsonDerivedType(typeof(Steps.L2NormalizeStep), "l2_normalize")]
[JsonDerivedType(typeof(Steps.BertTokenizeStep), "bert_tokenize")]
[JsonDerivedType(typeof(Steps.MeanPoolStep), "mean_pool")]
[JsonDerivedType(typeof(Steps.ImageStep), "image")]
[JsonDerivedType(typeof(Steps.SoftmaxStep), "softmax")]
[JsonDerivedType(typeof(Steps.TopKStep), "top_k")]
[JsonDerivedType(typeof(Steps.ArgmaxLabelStep), "argmax_label")]
internal abstract record PipelineStep
{
    /// <summary>The tensors the step reads.</summary>
    [JsonIgnore]
    public abstract IReadOnlyList<string> Consumes { get; }

    /// <summary>The tensors the step adds (or replaces).</summary>
    [JsonIgnore]
    public abstract IReadOnlyList<string> Produces { get; }

    /// <summary>Files from the model's version folder that the step needs, such as a vocabulary or labels.</summary>
    [JsonIgnore]
    public virtual IReadOnlyList<string> Assets => [];

    /// <summary>Prepares the step once per model load: reads its assets, checks its options.</summary>
    internal abstract IPipelineOperation Create(PipelineBuildContext context);
}

/// <summary>What a step can see while it is prepared.</summary>
/// <param name="AssetPaths">Local paths of the step's assets, by file name.</param>
/// <param name="Model">The bare model's tensor signature.</param>
internal sealed record PipelineBuildContext(IReadOnlyDictionary<string, string> AssetPaths, ModelSignature Model);

/// <summary>A prepared step; shared by concurrent requests, so it keeps no per-request state.</summary>
internal interface IPipelineOperation
{
    void Apply(PipelineRun run);
}

/// <summary>The tensors and row-counting response parameters of one request as it moves through the pipeline.</summary>
internal sealed class PipelineRun(CancellationToken cancellationToken)
{
    private readonly Dictionary<string, PipelineTensor> _tensors = new(StringComparer.Ordinal);

    public CancellationToken CancellationToken { get; } = cancellationToken;

    public PipelineTensor Get(string name) =>
        _tensors.TryGetValue(name, out var tensor)
            ? tensor
            : throw new InferenceException(InferenceErrorKind.Internal, $"pipeline tensor '{name}' was never produced");

    public bool TryGet(string name, out PipelineTensor tensor) => _tensors.TryGetValue(name, out tensor!);

    public void Set(PipelineTensor tensor) => _tensors[tensor.Name] = tensor;

    /// <summary>Parameters that count rows, e.g. truncated texts; kept per row so a merged run can answer each caller its own count.</summary>
    public List<RowCount> RowCounts { get; } = [];

    public void CountRows(string name, IReadOnlyList<int> rows) => RowCounts.Add(new RowCount(name, rows));
}

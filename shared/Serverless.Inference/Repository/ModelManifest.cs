using System.Text.Json;
using System.Text.Json.Serialization;
using Serverless.Inference.Pipelines;
using Serverless.Inference.Streaming;

namespace Serverless.Inference.Repository;

/// <summary>The content of <c>models/&lt;name&gt;/model.json</c>. Every field is optional.</summary>
// Settable rather than init-only: the JSON source generator resets unset init-only properties to default.
internal sealed record ModelManifest
{
    /// <summary>Informational; "onnxruntime_onnx" is the only platform served.</summary>
    public string Platform { get; set; } = "onnxruntime_onnx";

    public string? Description { get; set; }

    /// <summary>A version folder or an alias; when absent the highest version is the default.</summary>
    public string? DefaultVersion { get; set; }

    /// <summary>Other names for versions, e.g. <c>{"stable": "3"}</c>.</summary>
    public IReadOnlyDictionary<string, string> Aliases { get; set; } = new Dictionary<string, string>();

    /// <summary>The most rows one run may hold; 0 when the model's first dimension is not a batch.</summary>
    public int MaxBatchSize { get; set; }

    /// <summary>ONNX Runtime intra-op threads; 0 takes the host's default.</summary>
    public int IntraOpThreads { get; set; }

    /// <summary>Run the model once on generated input while loading, so the first request pays nothing extra.</summary>
    public bool Warmup { get; set; }

    /// <summary>Save the optimized graph in the artifact cache and load it on the next cold start.</summary>
    public bool OptimizedGraphCache { get; set; }

    /// <summary>Overrides of the model's input metadata (a more precise shape), matched by name.</summary>
    public IReadOnlyList<TensorOverride> Inputs { get; set; } = [];

    /// <summary>When not empty, only these outputs are exposed, in this order.</summary>
    public IReadOnlyList<TensorOverride> Outputs { get; set; } = [];

    /// <summary>
    /// The working memory one row of a request takes at the largest shape the model accepts (activations, outputs),
    /// in MB; 0 estimates it from the signature. Requests reserve it before they run, so concurrent requests never
    /// ask for more memory than the instance has.
    /// </summary>
    public double MemoryPerRowMb { get; set; }

    /// <summary>How this model's big batch files are split: shard sizes chosen so a shard finishes well inside a function's timeout.</summary>
    public BatchManifest? Batch { get; set; }

    /// <summary>Pre- and post-processing around the model, so callers send text or images rather than tensors.</summary>
    public PipelineManifest? Pipeline { get; set; }

    /// <summary>Merge concurrent requests for this model into one run (Triton's dynamic batcher); off when absent.</summary>
    public DynamicBatchingManifest? DynamicBatching { get; set; }

    /// <summary>How records from a stream are scored: windows of a partition key's readings, alert rules.</summary>
    public StreamingManifest? Streaming { get; set; }

    /// <summary>What the host records about this model's traffic (sampled request/response capture); nothing when absent.</summary>
    public MonitoringManifest? Monitoring { get; set; }

    /// <summary>Versions made from another version by <c>infer optimize</c>, by version folder: where each came from.</summary>
    public IReadOnlyDictionary<string, VariantManifest> Variants { get; set; } = new Dictionary<string, VariantManifest>();

    public static ModelManifest Parse(ReadOnlySpan<byte> json, string source)
    {
        ModelManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize(json, ManifestJsonContext.Default.ModelManifest);
        }
        catch (JsonException e)
        {
            throw new InferenceException(InferenceErrorKind.Unavailable, $"{source} is not a valid model manifest: {e.Message}", e);
        }

        if (manifest is null)
        {
            throw new InferenceException(InferenceErrorKind.Unavailable, $"{source} is empty");
        }

        manifest.Validate(source);
        return manifest;
    }

    private void Validate(string source)
    {
        string Fail(string problem) => throw new InferenceException(InferenceErrorKind.Unavailable, $"{source}: {problem}");

        if (Platform != "onnxruntime_onnx")
        {
            Fail($"platform '{Platform}' is not served (only onnxruntime_onnx)");
        }

        if (DefaultVersion is not null && !ModelNames.IsValid(DefaultVersion))
        {
            Fail($"default_version must match {ModelNames.Rule}");
        }

        foreach (var (alias, version) in Aliases)
        {
            if (!ModelNames.IsValid(alias) || !ModelNames.IsValid(version))
            {
                Fail($"alias '{alias}' -> '{version}' must use names matching {ModelNames.Rule}");
            }
        }

        if (MaxBatchSize is < 0 or > 1 << 20)
        {
            Fail("max_batch_size must be between 0 and 1048576");
        }

        if (IntraOpThreads is < 0 or > 256)
        {
            Fail("intra_op_threads must be between 0 and 256");
        }

        if (Inputs.Concat(Outputs).Any(tensor => string.IsNullOrEmpty(tensor.Name)))
        {
            Fail("every input and output override needs a name");
        }

        if (Inputs.FirstOrDefault(input => input.MaxShape?.Any(d => d is 0 or < -1) == true) is { } badMax)
        {
            Fail($"max_shape of '{badMax.Name}' must hold positive sizes or -1 (no bound)");
        }

        if (Outputs.Any(output => output.MaxShape is not null))
        {
            Fail("max_shape applies to inputs only");
        }

        if (MemoryPerRowMb is < 0 or > 1 << 20 || double.IsNaN(MemoryPerRowMb))
        {
            Fail("memory_per_row_mb must be between 0 and 1048576");
        }

        if (Batch is { RowsPerShard: < 1 } or { BytesPerShard: < 1 << 16 })
        {
            Fail("batch.rows_per_shard must be at least 1 and batch.bytes_per_shard at least 65536");
        }

        if (DynamicBatching is { } batching && batching.Problem(MaxBatchSize) is { } problem)
        {
            Fail($"dynamic_batching: {problem}");
        }

        if (Streaming?.Problem() is { } streamingProblem)
        {
            Fail($"streaming: {streamingProblem}");
        }

        if (Monitoring?.Problem() is { } monitoringProblem)
        {
            Fail($"monitoring.{monitoringProblem}");
        }

        foreach (var (version, variant) in Variants)
        {
            if (!ModelNames.IsValid(version))
            {
                Fail($"variants: version '{ModelNames.Printable(version)}' must match {ModelNames.Rule}");
            }

            if (variant is null)
            {
                Fail($"variants.{version} must be an object");
            }
            else if (variant.Problem() is { } variantProblem)
            {
                Fail($"variants.{version}.{variantProblem}");
            }
        }
    }
}

/// <param name="RowsPerShard">The most rows a shard of a big file holds (about what one invocation scores in a few minutes).</param>
/// <param name="BytesPerShard">The most input bytes a shard holds.</param>
internal sealed record BatchManifest(int? RowsPerShard = null, long? BytesPerShard = null);

/// <param name="Shape">A more precise shape than the model declares: same rank, -1 for a dynamic dimension.</param>
/// <param name="Columns">For batch CSV files: the columns that fill this input's row, in order.</param>
/// <param name="MaxShape">An input's largest accepted size per dimension (-1: unbounded), e.g. a sequence limit.</param>
internal sealed record TensorOverride(string Name, IReadOnlyList<long>? Shape = null, IReadOnlyList<string>? Columns = null, IReadOnlyList<long>? MaxShape = null);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    ReadCommentHandling = JsonCommentHandling.Skip,
    AllowTrailingCommas = true)]
[JsonSerializable(typeof(ModelManifest))]
internal sealed partial class ManifestJsonContext : JsonSerializerContext;

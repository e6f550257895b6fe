namespace Serverless.Inference.Hosting;

public sealed class ModelHostOptions
{
    /// <summary>
    /// How long a model's manifest and file identities are trusted. The first request after it starts a check of the
    /// store in the background and is served by the loaded version; a changed model is swapped in once loaded.
    /// </summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a failed first load is reported as is, or a failed background check waits, before the next try.</summary>
    public TimeSpan FailureRetryInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The instance's memory; null detects it (<see cref="Hosting.InstanceMemory.Detect()"/>).</summary>
    public InstanceMemory? InstanceMemory { get; set; }

    /// <summary>
    /// The memory the loaded models may take, estimated as twice each model file's size (weights plus the
    /// runtime's working memory). Least recently used models are released beyond it. Null: derived from the
    /// instance's memory (<see cref="MemoryPlan"/>).
    /// </summary>
    public long? MemoryBudgetBytes { get; set; }

    /// <summary>The working memory running requests may hold at once; null: derived from the instance's memory.</summary>
    public long? RequestMemoryBytes { get; set; }

    /// <summary>Online requests that may wait for memory at once; more are answered 429.</summary>
    public int MaxWaitingRequests { get; set; } = 64;

    /// <summary>How long an online request may wait for memory before it is answered 429.</summary>
    public TimeSpan MaxMemoryWait { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Intra-op threads for models whose manifest does not say; never left to the runtime to guess.</summary>
    public int DefaultIntraOpThreads { get; set; } = Math.Clamp(Environment.ProcessorCount, 1, 4);

    /// <summary>
    /// Whether manifests' <c>dynamic_batching</c> is honoured. Off where an instance is given one request at a time
    /// (a Lambda function): a request would only wait out the queue delay for company that never comes.
    /// </summary>
    public bool DynamicBatching { get; set; } = true;

    /// <summary>Where sampled requests and answers of models whose manifest asks for capture are recorded; none when null.</summary>
    public Monitoring.PredictionCapture? Capture { get; set; }

    /// <summary>Where remote model files and optimized graphs are cached.</summary>
    public string CacheDirectory { get; set; } = Path.Combine(Path.GetTempPath(), "serverless-inference");
}

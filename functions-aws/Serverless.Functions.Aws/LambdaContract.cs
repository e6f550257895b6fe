namespace Serverless.Functions.Aws;

/// <summary>
/// The names this function reads and the CDK stack in infra/aws provisions. Infra tests compare the
/// synthesized template against these values, so a rename on one side fails the build instead of a deployment.
/// </summary>
public static class LambdaContract
{
    /// <summary>Environment variable: the bucket holding <c>models/</c>, <c>incoming/</c>, <c>outgoing/</c> and <c>failed/</c> (and the stream function's <c>predictions/</c> and <c>stream-state/</c>).</summary>
    public const string BucketVariable = "INFERENCE_BUCKET";

    /// <summary>Environment variable: comma-separated model names loaded during initialisation.</summary>
    public const string WarmupModelsVariable = "INFERENCE_WARMUP_MODELS";

    public const string ModelsPrefix = "models/";

    public const string IncomingPrefix = "incoming/";

    public const string OutgoingPrefix = "outgoing/";

    public const string FailedPrefix = "failed/";

    /// <summary>Prediction capture objects (sampled request/response records), written create-only by both functions (PredictionCapture.Folder in the core).</summary>
    public const string CapturePrefix = "capture/";

    /// <summary>Environment variable: minutes a file must have sat under <c>incoming/</c> before the scheduled sweep takes it up.</summary>
    public const string SweepAfterMinutesVariable = "INFERENCE_SWEEP_AFTER_MINUTES";

    /// <summary>
    /// Environment variable: the URL of the SQS queue that carries one message per shard of a planned batch file. Set on
    /// the batch function only; with it, a big input is planned and fanned out instead of scored in one invocation.
    /// </summary>
    public const string ShardQueueUrlVariable = "INFERENCE_SHARD_QUEUE_URL";

    /// <summary>Environment variable: the URL of the shard queue's dead-letter queue, where malformed shard messages are sent with a reason.</summary>
    public const string ShardDeadLetterQueueUrlVariable = "INFERENCE_SHARD_DLQ_URL";

    /// <summary>
    /// Environment variable: the most rows a shard holds on this deployment, unless a model's manifest says otherwise
    /// (<c>batch.rows_per_shard</c>); unset, the core's default. Size it so one shard finishes well inside the batch
    /// function's timeout.
    /// </summary>
    public const string RowsPerShardVariable = "INFERENCE_ROWS_PER_SHARD";

    /// <summary>The message attribute (String) that says why a message was dead-lettered.</summary>
    public const string DeadLetterReasonAttribute = "reason";

    /// <summary>The message attribute (String) with the SQS message id the dead-lettered body arrived under.</summary>
    public const string DeadLetterSourceMessageAttribute = "source-message-id";

    /// <summary>Where the stream function writes one predictions object per Kinesis batch (create-only).</summary>
    public const string PredictionsPrefix = "predictions/";

    /// <summary>Where the stream function keeps per-partition-key state (windows, consecutive-match counts) and alert markers.</summary>
    public const string StreamStatePrefix = "stream-state/";

    /// <summary>Environment variable: the model the stream function scores Kinesis records with. Set on the stream function only.</summary>
    public const string StreamModelVariable = "INFERENCE_STREAM_MODEL";

    /// <summary>Environment variable: the version of <see cref="StreamModelVariable"/> to score with; unset, the manifest's default.</summary>
    public const string StreamModelVersionVariable = "INFERENCE_STREAM_MODEL_VERSION";

    /// <summary>Environment variable: the URL of the SQS queue the stream function sends one message per alert to.</summary>
    public const string AlertQueueUrlVariable = "INFERENCE_ALERT_QUEUE_URL";

    /// <summary>The message attribute (String) with the alert's deterministic id, so a consumer can drop repeats.</summary>
    public const string AlertIdAttribute = "alert-id";

    /// <summary>
    /// Environment variable: the folder of models packaged with the function. With the bucket, its models are served from
    /// it and every other from the bucket's <c>models/</c>; without, it is the whole repository.
    /// </summary>
    public const string ModelDirectoryVariable = "INFERENCE_MODEL_DIR";

    /// <summary>Where models packaged in bootstrap.zip (under <c>models/</c>) are: Lambda unpacks the zip into /var/task.</summary>
    public const string PackageModelDirectory = "/var/task/models";

    /// <summary>Where models of a layer zip (under <c>models/</c>) are: Lambda unpacks layers into /opt.</summary>
    public const string LayerModelDirectory = "/opt/models";

    /// <summary>The executable name a <c>provided.al2023</c> custom runtime starts.</summary>
    public const string BootstrapName = "bootstrap";
}

namespace Serverless.Functions.Azure;

/// <summary>
/// The names this app reads and the templates in infra/azure provision. Infra tests compare the compiled
/// Bicep against these values, so a rename on one side fails the build instead of a deployment.
/// </summary>
public static class AzureContract
{
    /// <summary>The named connection for models and batch files: <c>InferenceStorage__serviceUri</c> + managed identity in Azure, <c>UseDevelopmentStorage=true</c> locally.</summary>
    public const string StorageConnection = "InferenceStorage";

    public const string ModelsContainer = "models";

    public const string IncomingContainer = "incoming";

    public const string OutgoingContainer = "outgoing";

    public const string FailedContainer = "failed";

    /// <summary>The blob-triggered batch function; the Event Grid subscription delivers to it.</summary>
    public const string ScoreBlobFunction = "ScoreBlob";

    /// <summary>host.json's <c>extensions.http.routePrefix</c>: the OIP routes live at <c>/v2/...</c>.</summary>
    public const string RoutePrefix = "v2";

    /// <summary>Comma-separated model names loaded at start-up, before the first request.</summary>
    public const string WarmupModelsSetting = "Inference__WarmupModels";

    /// <summary>The timer-triggered function that scores files under <c>incoming/</c> whose event never arrived.</summary>
    public const string SweepIncomingFunction = "SweepIncoming";

    /// <summary>NCRONTAB schedule of <see cref="SweepIncomingFunction"/> (six fields, seconds first).</summary>
    public const string SweepScheduleSetting = "Inference__SweepSchedule";

    /// <summary>Minutes a file must have sat under <c>incoming/</c> before the sweep takes it up.</summary>
    public const string SweepAfterMinutesSetting = "Inference__SweepAfterMinutes";

    /// <summary>The instance's memory in MB (Flex Consumption's instanceMemoryMB): the model and request budgets derive from it.</summary>
    public const string InstanceMemorySetting = "Inference__InstanceMemoryMB";

    /// <summary>Where Event Grid puts blob events it could not deliver, in the inference storage account.</summary>
    public const string DeadLetterContainer = "deadletter";

    /// <summary>Prediction capture objects: the app only creates blobs here (a custom role scoped to the container); PredictionCapture.Folder in the core.</summary>
    public const string CaptureContainer = "capture";

    /// <summary>The queue-triggered function that scores one shard of a planned file.</summary>
    public const string ScoreShardFunction = "ScoreShard";

    /// <summary>One message per shard of a planned file, in the inference storage account; <see cref="ScoreShardFunction"/> takes them.</summary>
    public const string ShardQueue = "batch-shards";

    /// <summary>
    /// Shard messages delivered too often (the queue trigger's own poison queue: <see cref="ShardQueue"/> + "-poison")
    /// and, with their reason, messages that are not shard messages or name no job.
    /// </summary>
    public const string ShardPoisonQueue = ShardQueue + "-poison";

    /// <summary>Files larger than this many bytes are planned into shards and fanned out; smaller ones are scored as they arrive.</summary>
    public const string ShardMinBytesSetting = "Inference__ShardMinBytes";

    /// <summary>The most rows in one shard, unless the model's manifest says otherwise (<c>batch.rows_per_shard</c>).</summary>
    public const string RowsPerShardSetting = "Inference__RowsPerShard";

    /// <summary>The most input bytes in one shard, unless the model's manifest says otherwise (<c>batch.bytes_per_shard</c>).</summary>
    public const string BytesPerShardSetting = "Inference__BytesPerShard";

    /// <summary>The HTTP function Event Grid pushes a stream's CloudEvents to: <c>POST /v2/streams/{model}</c>.</summary>
    public const string ScoreStreamFunction = "ScoreStream";

    /// <summary>The stream webhook's route under <see cref="RoutePrefix"/>; the model scores every event of a delivery.</summary>
    public const string StreamRoute = "streams/{model}";

    /// <summary>The stream's predictions, one create-only object per committed run of events.</summary>
    public const string PredictionsContainer = "predictions";

    /// <summary>The stream's per-key state (windows, consecutive-match counts) and its alert markers.</summary>
    public const string StreamStateContainer = "stream-state";

    /// <summary>One empty blob per committed event id, so a redelivered event is skipped even in a regrouped batch; expired by the account's lifecycle policy.</summary>
    public const string StreamEventsContainer = "stream-events";

    /// <summary>The stream's alerts, one JSON message each (base64, as a queue trigger reads it).</summary>
    public const string StreamAlertsQueue = "stream-alerts";

    /// <summary>The CloudEvents attribute whose value is an event's partition key (default <c>subject</c>; an event without it is keyed by its <c>source</c>).</summary>
    public const string StreamPartitionAttributeSetting = "Inference__StreamPartitionAttribute";
}

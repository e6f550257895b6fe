using System.Globalization;
using Amazon.CDK.AWS.Logs;
using Serverless.Functions.Aws;

namespace Serverless.Infra.Aws;

/// <summary>
/// What a deployment may choose. Every value is checked before a construct is created, so a wrong
/// value fails <c>cdk synth</c> with a message that names the setting, never a CloudFormation rollback.
/// </summary>
internal sealed record InferenceStackSettings
{
    public const string Arm64 = "arm64";
    public const string X86_64 = "x86_64";

    /// <summary>Folder with the published <c>bootstrap</c> (Native AOT) or a .zip of it.</summary>
    public required string BootstrapPath { get; init; }

    /// <summary>Must match the runtime identifier the bootstrap was published for (functions-aws/package.sh defaults to linux-x64).</summary>
    public string Architecture { get; init; } = X86_64;

    /// <summary>The HTTP function's memory (MiB).</summary>
    public int MemorySizeMiB { get; init; } = 2048;

    /// <summary>The HTTP function's timeout: an HTTP API waits at most 30 s for its integration, so more would never be used.</summary>
    public int TimeoutSeconds { get; init; } = 30;

    /// <summary>The batch function's memory (MiB): more memory also brings more vCPUs (about one per 1,769 MB).</summary>
    public int BatchMemorySizeMiB { get; init; } = 3008;

    /// <summary>The batch function's timeout: a planner's pass over an input, or one shard, must finish inside it.</summary>
    public int BatchTimeoutSeconds { get; init; } = 900;

    /// <summary>Size of /tmp, where the artifact cache keeps downloaded models.</summary>
    public int EphemeralStorageMiB { get; init; } = 2048;

    /// <summary>0: on-demand only. Above 0: a "live" alias of the HTTP function with that many pre-initialised environments.</summary>
    public int ProvisionedConcurrency { get; init; }

    /// <summary>
    /// Environments the HTTP function may run at once (reserved concurrency): what it takes from the account's pool, so
    /// it cannot starve other functions, nor be starved by a batch job.
    /// </summary>
    public int ReservedConcurrency { get; init; } = 50;

    /// <summary>
    /// Environments the batch function may run at once (reserved concurrency): the ceiling for planners, shard workers
    /// and the sweep together, which protects the account when a large file fans out.
    /// </summary>
    public int BatchReservedConcurrency { get; init; } = 30;

    /// <summary>Environments the S3 notification queue's event source may use at once (ScalingConfig.MaximumConcurrency).</summary>
    public int SqsMaxConcurrency { get; init; } = 5;

    /// <summary>Environments the shard queue's event source may use at once: how many shards are scored in parallel.</summary>
    public int ShardMaxConcurrency { get; init; } = 20;

    /// <summary>Minutes between scheduled sweeps of incoming/ for files whose S3 notification never arrived.</summary>
    public int SweepIntervalMinutes { get; init; } = 15;

    /// <summary>Minutes a file must have sat under incoming/ before a sweep takes it up.</summary>
    public int SweepAfterMinutes { get; init; } = 15;

    public int LogRetentionDays { get; init; } = 30;

    /// <summary>SQS messages (one S3 event each) per invocation.</summary>
    public int BatchSize { get; init; } = 1;

    /// <summary>Deliveries of one S3 notification before it goes to the dead-letter queue.</summary>
    public int MaxReceiveCount { get; init; } = 3;

    /// <summary>Shard messages per invocation: one shard is meant to fill most of an invocation.</summary>
    public int ShardBatchSize { get; init; } = 1;

    /// <summary>
    /// Deliveries of one shard message before SQS moves it to the shard dead-letter queue. Above the core's own attempts
    /// (3), so a failing shard fails its file first, and a throttled or crashed delivery still leaves room.
    /// </summary>
    public int ShardMaxReceiveCount { get; init; } = 5;

    public string WarmupModels { get; init; } = "";

    /// <summary>
    /// True when the bootstrap's zip carries models under <c>models/</c> (<c>package.sh ... --model NAME</c>): the
    /// functions serve those from /var/task/models and every other model from the bucket.
    /// </summary>
    public bool PackagedModels { get; init; }

    /// <summary>
    /// A folder or .zip with <c>models/</c> at its root (<c>package.sh ... --layer</c> writes models-layer.zip):
    /// published as a Lambda layer on every function, whose models are served from /opt/models before the bucket's.
    /// </summary>
    public string? ModelsLayerPath { get; init; }

    public bool UsesModelsLayer => !string.IsNullOrEmpty(ModelsLayerPath);

    /// <summary>Where the functions find packaged models (INFERENCE_MODEL_DIR), or null when none are packaged.</summary>
    public string? PackagedModelDirectory =>
        UsesModelsLayer ? LambdaContract.LayerModelDirectory : PackagedModels ? LambdaContract.PackageModelDirectory : null;

    /// <summary>
    /// The most rows a shard holds on this deployment (INFERENCE_ROWS_PER_SHARD), unless a model's manifest says otherwise;
    /// 0 leaves the core's default. Size it so a shard finishes well inside <see cref="BatchTimeoutSeconds"/>.
    /// </summary>
    public int RowsPerShard { get; init; }

    /// <summary>Steady requests per second the API accepts before answering 429.</summary>
    public int ApiRateLimit { get; init; } = 100;

    /// <summary>Requests the API accepts at once above the steady rate.</summary>
    public int ApiBurstLimit { get; init; } = 200;

    /// <summary>Set to authorise callers with JWTs from this issuer instead of IAM (SigV4).</summary>
    public string? JwtIssuer { get; init; }

    public IReadOnlyList<string> JwtAudience { get; init; } = [];

    public bool UsesJwt => !string.IsNullOrEmpty(JwtIssuer);

    /// <summary>
    /// The model the stream function scores Kinesis records with. Empty (the default): no stream, no stream function, no
    /// alert queue, since an on-demand stream is billed by the hour whether records arrive or not.
    /// </summary>
    public string StreamModel { get; init; } = "";

    /// <summary>The version of <see cref="StreamModel"/>; empty: the manifest's default.</summary>
    public string StreamModelVersion { get; init; } = "";

    public bool UsesStream => !string.IsNullOrEmpty(StreamModel);

    /// <summary>0: on-demand capacity. Above 0: that many provisioned shards.</summary>
    public int StreamShardCount { get; init; }

    /// <summary>How long records stay in the stream: also how long a batch Lambda gave up on can still be read again.</summary>
    public int StreamRetentionHours { get; init; } = 24;

    public int StreamMemorySizeMiB { get; init; } = 1024;

    /// <summary>The stream function's timeout: while a batch is retried its shard waits, so it is kept short.</summary>
    public int StreamTimeoutSeconds { get; init; } = 60;

    /// <summary>With a parallelization factor of 1 there is one invocation per shard at a time: at least the shard count.</summary>
    public int StreamReservedConcurrency { get; init; } = 10;

    /// <summary>Records per invocation, at most.</summary>
    public int StreamBatchSize { get; init; } = 100;

    /// <summary>Seconds Lambda gathers records before it invokes with fewer than a full batch.</summary>
    public int StreamMaxBatchingWindowSeconds { get; init; } = 1;

    /// <summary>Records older than this go to the failed-batches queue instead of being retried again.</summary>
    public int StreamMaxRecordAgeSeconds { get; init; } = 3600;

    /// <summary>Retries of a failing batch (each bisected, from the first uncommitted record) before it goes to the failed-batches queue.</summary>
    public int StreamRetryAttempts { get; init; } = 10;

    internal static readonly IReadOnlyDictionary<int, RetentionDays> RetentionByDays = new Dictionary<int, RetentionDays>
    {
        [1] = RetentionDays.ONE_DAY,
        [3] = RetentionDays.THREE_DAYS,
        [5] = RetentionDays.FIVE_DAYS,
        [7] = RetentionDays.ONE_WEEK,
        [14] = RetentionDays.TWO_WEEKS,
        [30] = RetentionDays.ONE_MONTH,
        [60] = RetentionDays.TWO_MONTHS,
        [90] = RetentionDays.THREE_MONTHS,
        [180] = RetentionDays.SIX_MONTHS,
        [365] = RetentionDays.ONE_YEAR,
        [731] = RetentionDays.TWO_YEARS,
        [1827] = RetentionDays.FIVE_YEARS,
        [3653] = RetentionDays.TEN_YEARS,
    };

    public RetentionDays LogRetention => RetentionByDays[LogRetentionDays];

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> (or <see cref="ArgumentException"/>) naming the first wrong setting.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(BootstrapPath))
        {
            throw new ArgumentException("bootstrapPath is required: the folder with the published 'bootstrap' or a .zip of it (cdk synth -c bootstrapPath=...).", nameof(BootstrapPath));
        }

        var isZip = BootstrapPath.EndsWith(".zip", StringComparison.OrdinalIgnoreCase);
        if (isZip ? !File.Exists(BootstrapPath) : !File.Exists(Path.Combine(BootstrapPath, "bootstrap")))
        {
            throw new ArgumentException($"bootstrapPath '{BootstrapPath}' holds no 'bootstrap' executable (nor is it a .zip): publish functions-aws first.", nameof(BootstrapPath));
        }

        if (UsesModelsLayer)
        {
            ValidateModelsLayer();
        }

        if (Architecture is not (Arm64 or X86_64))
        {
            throw new ArgumentOutOfRangeException(nameof(Architecture), Architecture, $"architecture must be '{Arm64}' or '{X86_64}'.");
        }

        RequireRange(nameof(MemorySizeMiB), MemorySizeMiB, 128, 10240, "memorySize (MiB) must be between 128 and 10240, Lambda's limits.");
        RequireRange(nameof(TimeoutSeconds), TimeoutSeconds, 1, 30, "timeoutSeconds (the HTTP function) must be between 1 and 30: an HTTP API waits at most 30 s for its integration.");
        RequireRange(nameof(BatchMemorySizeMiB), BatchMemorySizeMiB, 128, 10240, "batchMemorySize (MiB) must be between 128 and 10240, Lambda's limits.");
        RequireRange(nameof(BatchTimeoutSeconds), BatchTimeoutSeconds, 1, 900, "batchTimeoutSeconds must be between 1 and 900, Lambda's limits.");
        RequireRange(nameof(EphemeralStorageMiB), EphemeralStorageMiB, 512, 10240, "ephemeralStorage (MiB of /tmp) must be between 512 and 10240, Lambda's limits.");
        RequireRange(nameof(ProvisionedConcurrency), ProvisionedConcurrency, 0, 1000, "provisionedConcurrency must be between 0 (none) and 1000.");
        RequireRange(nameof(ReservedConcurrency), ReservedConcurrency, 1, 1000, "reservedConcurrency must be between 1 and 1000 (the default account quota; 0 would stop the function).");
        RequireRange(nameof(BatchReservedConcurrency), BatchReservedConcurrency, 4, 1000, "batchReservedConcurrency must be between 4 (two per queue, the SQS event source's minimum) and 1000.");
        RequireRange(nameof(SqsMaxConcurrency), SqsMaxConcurrency, 2, 1000, "sqsMaxConcurrency must be between 2 and 1000, the SQS event source's limits.");
        RequireRange(nameof(ShardMaxConcurrency), ShardMaxConcurrency, 2, 1000, "shardMaxConcurrency must be between 2 and 1000, the SQS event source's limits.");
        RequireRange(nameof(SweepIntervalMinutes), SweepIntervalMinutes, 1, 1440, "sweepIntervalMinutes must be between 1 and 1440 (one sweep a day).");
        RequireRange(nameof(SweepAfterMinutes), SweepAfterMinutes, 1, 1440, "sweepAfterMinutes must be between 1 and 1440.");
        RequireRange(nameof(BatchSize), BatchSize, 1, 10, "batchSize must be between 1 and 10 messages per invocation.");
        RequireRange(nameof(MaxReceiveCount), MaxReceiveCount, 1, 1000, "maxReceiveCount must be between 1 and 1000 deliveries before the dead-letter queue.");
        RequireRange(nameof(ShardBatchSize), ShardBatchSize, 1, 10, "shardBatchSize must be between 1 and 10 messages per invocation.");
        RequireRange(nameof(RowsPerShard), RowsPerShard, 0, 100_000_000, "rowsPerShard must be between 0 (the core's default) and 100000000.");
        RequireRange(nameof(ShardMaxReceiveCount), ShardMaxReceiveCount, 1, 1000, "shardMaxReceiveCount must be between 1 and 1000 deliveries before the shard dead-letter queue.");
        RequireRange(nameof(ApiRateLimit), ApiRateLimit, 1, 10000, "apiRateLimit must be between 1 and 10000 requests per second (the account default ceiling).");
        RequireRange(nameof(ApiBurstLimit), ApiBurstLimit, 1, 5000, "apiBurstLimit must be between 1 and 5000 requests (the account default ceiling).");

        // Lambda refuses provisioned concurrency above the reserved concurrency.
        if (ProvisionedConcurrency > ReservedConcurrency)
        {
            throw new ArgumentOutOfRangeException(nameof(ProvisionedConcurrency), ProvisionedConcurrency,
                $"provisionedConcurrency ({ProvisionedConcurrency}) must not exceed reservedConcurrency ({ReservedConcurrency}).");
        }

        // Above the batch function's reserved concurrency the queues' pollers would be throttled, and throttled messages
        // count towards maxReceiveCount: they would end in a dead-letter queue without ever being scored.
        if (SqsMaxConcurrency + ShardMaxConcurrency > BatchReservedConcurrency)
        {
            throw new ArgumentOutOfRangeException(nameof(ShardMaxConcurrency), ShardMaxConcurrency,
                $"sqsMaxConcurrency ({SqsMaxConcurrency}) and shardMaxConcurrency ({ShardMaxConcurrency}) together must not exceed batchReservedConcurrency ({BatchReservedConcurrency}).");
        }

        if (UsesStream)
        {
            ValidateStream();
        }

        if (!RetentionByDays.ContainsKey(LogRetentionDays))
        {
            throw new ArgumentOutOfRangeException(nameof(LogRetentionDays), LogRetentionDays,
                $"logRetentionDays must be one of {string.Join(", ", RetentionByDays.Keys)}.");
        }

        if (UsesJwt)
        {
            if (!Uri.TryCreate(JwtIssuer, UriKind.Absolute, out var issuer) || issuer.Scheme != Uri.UriSchemeHttps)
            {
                throw new ArgumentException($"jwtIssuer '{JwtIssuer}' must be an absolute https URL.", nameof(JwtIssuer));
            }

            if (JwtAudience.Count == 0)
            {
                throw new ArgumentException("jwtAudience must name at least one audience when jwtIssuer is set.", nameof(JwtAudience));
            }
        }
    }

    private void ValidateModelsLayer()
    {
        if (PackagedModels)
        {
            throw new ArgumentException("packagedModels and modelsLayerPath exclude each other: models come from the bootstrap's zip or from a layer, not both.", nameof(ModelsLayerPath));
        }

        var isZip = ModelsLayerPath!.EndsWith(".zip", StringComparison.OrdinalIgnoreCase);
        if (isZip ? !File.Exists(ModelsLayerPath) : !Directory.Exists(Path.Combine(ModelsLayerPath, "models")))
        {
            throw new ArgumentException($"modelsLayerPath '{ModelsLayerPath}' is neither a .zip nor a folder with models/ at its root: run functions-aws/package.sh with --model and --layer first.", nameof(ModelsLayerPath));
        }
    }

    private void ValidateStream()
    {
        if (StreamModel.Length > 64 || !StreamModel.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            throw new ArgumentException($"streamModel '{StreamModel}' must be a model name: up to 64 letters, digits, '-', '_' or '.'.", nameof(StreamModel));
        }

        RequireRange(nameof(StreamShardCount), StreamShardCount, 0, 1000, "streamShardCount must be between 0 (on-demand) and 1000 provisioned shards.");
        RequireRange(nameof(StreamRetentionHours), StreamRetentionHours, 24, 8760, "streamRetentionHours must be between 24 and 8760, Kinesis's limits.");
        RequireRange(nameof(StreamMemorySizeMiB), StreamMemorySizeMiB, 128, 10240, "streamMemorySize (MiB) must be between 128 and 10240, Lambda's limits.");
        RequireRange(nameof(StreamTimeoutSeconds), StreamTimeoutSeconds, 1, 900, "streamTimeoutSeconds must be between 1 and 900, Lambda's limits.");
        RequireRange(nameof(StreamReservedConcurrency), StreamReservedConcurrency, 1, 1000, "streamReservedConcurrency must be between 1 and 1000.");
        RequireRange(nameof(StreamBatchSize), StreamBatchSize, 1, 10000, "streamBatchSize must be between 1 and 10000 records, the Kinesis event source's limits.");
        RequireRange(nameof(StreamMaxBatchingWindowSeconds), StreamMaxBatchingWindowSeconds, 0, 300, "streamMaxBatchingWindowSeconds must be between 0 and 300.");
        RequireRange(nameof(StreamMaxRecordAgeSeconds), StreamMaxRecordAgeSeconds, 60, 604800, "streamMaxRecordAgeSeconds must be between 60 and 604800 (a week), the Kinesis event source's limits.");
        RequireRange(nameof(StreamRetryAttempts), StreamRetryAttempts, 0, 10000, "streamRetryAttempts must be between 0 and 10000, the Kinesis event source's limits.");

        // Below the shard count some shards would wait throttled while their records age towards the failed-batches queue.
        if (StreamShardCount > StreamReservedConcurrency)
        {
            throw new ArgumentOutOfRangeException(nameof(StreamReservedConcurrency), StreamReservedConcurrency,
                $"streamReservedConcurrency ({StreamReservedConcurrency}) must be at least streamShardCount ({StreamShardCount}): one invocation per shard at a time.");
        }
    }

    /// <summary>Reads the settings from CDK context (cdk.json or <c>cdk synth -c key=value</c>); absent keys keep the defaults.</summary>
    public static InferenceStackSettings FromContext(Func<string, string?> context)
    {
        var defaults = new InferenceStackSettings { BootstrapPath = "" };
        return new InferenceStackSettings
        {
            BootstrapPath = context("bootstrapPath") ?? "",
            Architecture = context("architecture") ?? defaults.Architecture,
            MemorySizeMiB = Integer(context, "memorySize", defaults.MemorySizeMiB),
            TimeoutSeconds = Integer(context, "timeoutSeconds", defaults.TimeoutSeconds),
            BatchMemorySizeMiB = Integer(context, "batchMemorySize", defaults.BatchMemorySizeMiB),
            BatchTimeoutSeconds = Integer(context, "batchTimeoutSeconds", defaults.BatchTimeoutSeconds),
            EphemeralStorageMiB = Integer(context, "ephemeralStorage", defaults.EphemeralStorageMiB),
            ProvisionedConcurrency = Integer(context, "provisionedConcurrency", defaults.ProvisionedConcurrency),
            ReservedConcurrency = Integer(context, "reservedConcurrency", defaults.ReservedConcurrency),
            BatchReservedConcurrency = Integer(context, "batchReservedConcurrency", defaults.BatchReservedConcurrency),
            SqsMaxConcurrency = Integer(context, "sqsMaxConcurrency", defaults.SqsMaxConcurrency),
            ShardMaxConcurrency = Integer(context, "shardMaxConcurrency", defaults.ShardMaxConcurrency),
            SweepIntervalMinutes = Integer(context, "sweepIntervalMinutes", defaults.SweepIntervalMinutes),
            SweepAfterMinutes = Integer(context, "sweepAfterMinutes", defaults.SweepAfterMinutes),
            LogRetentionDays = Integer(context, "logRetentionDays", defaults.LogRetentionDays),
            BatchSize = Integer(context, "batchSize", defaults.BatchSize),
            MaxReceiveCount = Integer(context, "maxReceiveCount", defaults.MaxReceiveCount),
            ShardBatchSize = Integer(context, "shardBatchSize", defaults.ShardBatchSize),
            ShardMaxReceiveCount = Integer(context, "shardMaxReceiveCount", defaults.ShardMaxReceiveCount),
            WarmupModels = context("warmupModels") ?? defaults.WarmupModels,
            PackagedModels = Boolean(context, "packagedModels"),
            ModelsLayerPath = context("modelsLayerPath") is { Length: > 0 } layer ? layer : null,
            RowsPerShard = Integer(context, "rowsPerShard", defaults.RowsPerShard),
            ApiRateLimit = Integer(context, "apiRateLimit", defaults.ApiRateLimit),
            ApiBurstLimit = Integer(context, "apiBurstLimit", defaults.ApiBurstLimit),
            JwtIssuer = context("jwtIssuer"),
            JwtAudience = (context("jwtAudience") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            StreamModel = context("streamModel") ?? defaults.StreamModel,
            StreamModelVersion = context("streamModelVersion") ?? defaults.StreamModelVersion,
            StreamShardCount = Integer(context, "streamShardCount", defaults.StreamShardCount),
            StreamRetentionHours = Integer(context, "streamRetentionHours", defaults.StreamRetentionHours),
            StreamMemorySizeMiB = Integer(context, "streamMemorySize", defaults.StreamMemorySizeMiB),
            StreamTimeoutSeconds = Integer(context, "streamTimeoutSeconds", defaults.StreamTimeoutSeconds),
            StreamReservedConcurrency = Integer(context, "streamReservedConcurrency", defaults.StreamReservedConcurrency),
            StreamBatchSize = Integer(context, "streamBatchSize", defaults.StreamBatchSize),
            StreamMaxBatchingWindowSeconds = Integer(context, "streamMaxBatchingWindowSeconds", defaults.StreamMaxBatchingWindowSeconds),
            StreamMaxRecordAgeSeconds = Integer(context, "streamMaxRecordAgeSeconds", defaults.StreamMaxRecordAgeSeconds),
            StreamRetryAttempts = Integer(context, "streamRetryAttempts", defaults.StreamRetryAttempts),
        };
    }

    private static int Integer(Func<string, string?> context, string key, int fallback)
    {
        var text = context(key);
        if (text is null)
        {
            return fallback;
        }

        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new ArgumentException($"{key} must be a whole number, not '{text}'.", key);
    }

    private static bool Boolean(Func<string, string?> context, string key) =>
        context(key) switch
        {
            null or "false" => false,
            "true" => true,
            var text => throw new ArgumentException($"{key} must be true or false, not '{text}'.", key),
        };

    private static void RequireRange(string name, int value, int min, int max, string message)
    {
        if (value < min || value > max)
        {
            throw new ArgumentOutOfRangeException(name, value, message);
        }
    }
}

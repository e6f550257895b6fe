using System.Globalization;
using Amazon.CDK.AWS.Logs;

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

    public int MemorySizeMiB { get; init; } = 2048;

    public int TimeoutSeconds { get; init; } = 60;

    /// <summary>Size of /tmp, where the artifact cache keeps downloaded models.</summary>
    public int EphemeralStorageMiB { get; init; } = 2048;

    /// <summary>0: on-demand only. Above 0: a "live" alias with that many pre-initialised environments.</summary>
    public int ProvisionedConcurrency { get; init; }

    /// <summary>
    /// Environments the function may run at once (reserved concurrency): the ceiling for the API, the queue and the
    /// sweep together, and what the function takes from the account's pool so it cannot starve other functions.
    /// </summary>
    public int ReservedConcurrency { get; init; } = 50;

    /// <summary>Environments the SQS event source may use at once (ScalingConfig.MaximumConcurrency), so a burst of drops leaves room for the API.</summary>
    public int SqsMaxConcurrency { get; init; } = 10;

    /// <summary>Minutes between scheduled sweeps of incoming/ for files whose S3 notification never arrived.</summary>
    public int SweepIntervalMinutes { get; init; } = 15;

    /// <summary>Minutes a file must have sat under incoming/ before a sweep takes it up.</summary>
    public int SweepAfterMinutes { get; init; } = 15;

    public int LogRetentionDays { get; init; } = 30;

    /// <summary>SQS messages (one S3 event each) per invocation.</summary>
    public int BatchSize { get; init; } = 1;

    /// <summary>Deliveries of one message before it goes to the dead-letter queue.</summary>
    public int MaxReceiveCount { get; init; } = 3;

    public string WarmupModels { get; init; } = "";

    /// <summary>Steady requests per second the API accepts before answering 429.</summary>
    public int ApiRateLimit { get; init; } = 100;

    /// <summary>Requests the API accepts at once above the steady rate.</summary>
    public int ApiBurstLimit { get; init; } = 200;

    /// <summary>Set to authorise callers with JWTs from this issuer instead of IAM (SigV4).</summary>
    public string? JwtIssuer { get; init; }

    public IReadOnlyList<string> JwtAudience { get; init; } = [];

    public bool UsesJwt => !string.IsNullOrEmpty(JwtIssuer);

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

        if (Architecture is not (Arm64 or X86_64))
        {
            throw new ArgumentOutOfRangeException(nameof(Architecture), Architecture, $"architecture must be '{Arm64}' or '{X86_64}'.");
        }

        RequireRange(nameof(MemorySizeMiB), MemorySizeMiB, 128, 10240, "memorySize (MiB) must be between 128 and 10240, Lambda's limits.");
        RequireRange(nameof(TimeoutSeconds), TimeoutSeconds, 1, 900, "timeoutSeconds must be between 1 and 900, Lambda's limits.");
        RequireRange(nameof(EphemeralStorageMiB), EphemeralStorageMiB, 512, 10240, "ephemeralStorage (MiB of /tmp) must be between 512 and 10240, Lambda's limits.");
        RequireRange(nameof(ProvisionedConcurrency), ProvisionedConcurrency, 0, 1000, "provisionedConcurrency must be between 0 (none) and 1000.");
        RequireRange(nameof(ReservedConcurrency), ReservedConcurrency, 1, 1000, "reservedConcurrency must be between 1 and 1000 (the default account quota; 0 would stop the function).");
        RequireRange(nameof(SqsMaxConcurrency), SqsMaxConcurrency, 2, 1000, "sqsMaxConcurrency must be between 2 and 1000, the SQS event source's limits.");
        RequireRange(nameof(SweepIntervalMinutes), SweepIntervalMinutes, 1, 1440, "sweepIntervalMinutes must be between 1 and 1440 (one sweep a day).");
        RequireRange(nameof(SweepAfterMinutes), SweepAfterMinutes, 1, 1440, "sweepAfterMinutes must be between 1 and 1440.");
        RequireRange(nameof(BatchSize), BatchSize, 1, 10, "batchSize must be between 1 and 10 messages per invocation.");
        RequireRange(nameof(MaxReceiveCount), MaxReceiveCount, 1, 1000, "maxReceiveCount must be between 1 and 1000 deliveries before the dead-letter queue.");
        RequireRange(nameof(ApiRateLimit), ApiRateLimit, 1, 10000, "apiRateLimit must be between 1 and 10000 requests per second (the account default ceiling).");
        RequireRange(nameof(ApiBurstLimit), ApiBurstLimit, 1, 5000, "apiBurstLimit must be between 1 and 5000 requests (the account default ceiling).");

        // Lambda refuses provisioned concurrency above the reserved concurrency.
        if (ProvisionedConcurrency > ReservedConcurrency)
        {
            throw new ArgumentOutOfRangeException(nameof(ProvisionedConcurrency), ProvisionedConcurrency,
                $"provisionedConcurrency ({ProvisionedConcurrency}) must not exceed reservedConcurrency ({ReservedConcurrency}).");
        }

        // Above the reserved concurrency the queue's pollers would be throttled, and throttled messages count towards
        // maxReceiveCount: they would end in the dead-letter queue without ever being scored.
        if (SqsMaxConcurrency > ReservedConcurrency)
        {
            throw new ArgumentOutOfRangeException(nameof(SqsMaxConcurrency), SqsMaxConcurrency,
                $"sqsMaxConcurrency ({SqsMaxConcurrency}) must not exceed reservedConcurrency ({ReservedConcurrency}).");
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
            EphemeralStorageMiB = Integer(context, "ephemeralStorage", defaults.EphemeralStorageMiB),
            ProvisionedConcurrency = Integer(context, "provisionedConcurrency", defaults.ProvisionedConcurrency),
            ReservedConcurrency = Integer(context, "reservedConcurrency", defaults.ReservedConcurrency),
            SqsMaxConcurrency = Integer(context, "sqsMaxConcurrency", defaults.SqsMaxConcurrency),
            SweepIntervalMinutes = Integer(context, "sweepIntervalMinutes", defaults.SweepIntervalMinutes),
            SweepAfterMinutes = Integer(context, "sweepAfterMinutes", defaults.SweepAfterMinutes),
            LogRetentionDays = Integer(context, "logRetentionDays", defaults.LogRetentionDays),
            BatchSize = Integer(context, "batchSize", defaults.BatchSize),
            MaxReceiveCount = Integer(context, "maxReceiveCount", defaults.MaxReceiveCount),
            WarmupModels = context("warmupModels") ?? defaults.WarmupModels,
            ApiRateLimit = Integer(context, "apiRateLimit", defaults.ApiRateLimit),
            ApiBurstLimit = Integer(context, "apiBurstLimit", defaults.ApiBurstLimit),
            JwtIssuer = context("jwtIssuer"),
            JwtAudience = (context("jwtAudience") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
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

    private static void RequireRange(string name, int value, int min, int max, string message)
    {
        if (value < min || value > max)
        {
            throw new ArgumentOutOfRangeException(name, value, message);
        }
    }
}

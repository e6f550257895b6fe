using System.Globalization;
using Serverless.Functions.Aws.Queues;

namespace Serverless.Functions.Aws;

/// <summary>What the bootstrap reads from its environment, read once at start.</summary>
/// <param name="RuntimeApi">Set by Lambda; without it the binary serves the same routes on Kestrel.</param>
/// <param name="Bucket">The bucket with models/, incoming/, outgoing/ and failed/; without it models come from <paramref name="ModelDirectory"/>.</param>
/// <param name="S3ServiceUrl">An S3-compatible endpoint (moto, LocalStack); null for AWS itself.</param>
/// <param name="ShardQueue">The queue shard messages go to and come from; null where big files are scored in one invocation (and on the HTTP function).</param>
/// <param name="ShardDeadLetterQueue">Where malformed shard messages are sent, with a reason; set exactly when <paramref name="ShardQueue"/> is.</param>
/// <param name="SqsServiceUrl">An SQS-compatible endpoint (moto, LocalStack); null for AWS itself.</param>
/// <param name="Stream">The stream function's model and alert queue; null on the HTTP and batch functions.</param>
/// <param name="PackagedModels">
/// With a bucket, the folder INFERENCE_MODEL_DIR names (models packaged in bootstrap.zip or a layer): each model in it
/// is served from it, every other from the bucket; null when the variable is not set or no bucket is.
/// </param>
internal sealed record FunctionSettings(
    string? RuntimeApi,
    string? Bucket,
    string ModelDirectory,
    string? S3ServiceUrl,
    string? Region,
    IReadOnlyList<string> WarmupModels,
    int Port,
    TimeSpan SweepAfter,
    SqsQueueAddress? ShardQueue = null,
    SqsQueueAddress? ShardDeadLetterQueue = null,
    string? SqsServiceUrl = null,
    int? RowsPerShard = null,
    StreamSettings? Stream = null,
    string? PackagedModels = null)
{
    /// <summary>The largest rows-per-shard setting accepted: far above what one invocation scores.</summary>
    public const int MaxRowsPerShard = 100_000_000;

    /// <summary>
    /// Environment variable: the local model repository used when no bucket is set (default: models/ beside the binary);
    /// with a bucket, the folder of models packaged with the function, served before the bucket's.
    /// </summary>
    public const string ModelDirectoryVariable = LambdaContract.ModelDirectoryVariable;

    /// <summary>Environment variable: the loopback port of the local Kestrel server (default 8080).</summary>
    public const string PortVariable = "INFERENCE_PORT";

    public const int DefaultPort = 8080;

    /// <summary>The sweep's default age threshold, as the stack provisions it.</summary>
    public static readonly TimeSpan DefaultSweepAfter = TimeSpan.FromMinutes(15);

    public static FunctionSettings FromEnvironment() => From(Environment.GetEnvironmentVariable);

    public static FunctionSettings From(Func<string, string?> variable)
    {
        ArgumentNullException.ThrowIfNull(variable);
        string? Read(string name) => variable(name) is { Length: > 0 } value ? value.Trim() : null;

        var port = Read(PortVariable) is { } text
            ? int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) && parsed is > 0 and <= 65535
                ? parsed
                : throw new InvalidOperationException($"{PortVariable} must be a port number, not '{text}'")
            : DefaultPort;
        var sweepAfter = Read(LambdaContract.SweepAfterMinutesVariable) is { } minutes
            ? int.TryParse(minutes, NumberStyles.None, CultureInfo.InvariantCulture, out var parsedMinutes) && parsedMinutes <= 7 * 24 * 60
                ? TimeSpan.FromMinutes(parsedMinutes)
                : throw new InvalidOperationException($"{LambdaContract.SweepAfterMinutesVariable} must be a whole number of minutes (at most a week), not '{minutes}'")
            : DefaultSweepAfter;
        var rowsPerShard = Read(LambdaContract.RowsPerShardVariable) is { } rows
            ? int.TryParse(rows, NumberStyles.None, CultureInfo.InvariantCulture, out var parsedRows) && parsedRows is > 0 and <= MaxRowsPerShard
                ? parsedRows
                : throw new InvalidOperationException($"{LambdaContract.RowsPerShardVariable} must be a whole number of rows between 1 and {MaxRowsPerShard}, not '{rows}'")
            : (int?)null;
        var shardQueue = Queue(Read(LambdaContract.ShardQueueUrlVariable), LambdaContract.ShardQueueUrlVariable);
        var shardDeadLetters = Queue(Read(LambdaContract.ShardDeadLetterQueueUrlVariable), LambdaContract.ShardDeadLetterQueueUrlVariable);
        var bucket = Read(LambdaContract.BucketVariable);
        if ((shardQueue is null) != (shardDeadLetters is null))
        {
            throw new InvalidOperationException(
                $"{LambdaContract.ShardQueueUrlVariable} and {LambdaContract.ShardDeadLetterQueueUrlVariable} go together: set both (the batch function) or neither");
        }

        if (shardQueue is not null && bucket is null)
        {
            throw new InvalidOperationException($"{LambdaContract.ShardQueueUrlVariable} needs the bucket the shards are read from and written to: set {LambdaContract.BucketVariable}");
        }

        if (shardQueue is not null && shardQueue == shardDeadLetters)
        {
            throw new InvalidOperationException($"{LambdaContract.ShardDeadLetterQueueUrlVariable} must name another queue than {LambdaContract.ShardQueueUrlVariable}");
        }

        return new FunctionSettings(
            Read("AWS_LAMBDA_RUNTIME_API"),
            bucket,
            Read(ModelDirectoryVariable) ?? Path.Combine(AppContext.BaseDirectory, "models"),
            Read("AWS_ENDPOINT_URL_S3") ?? Read("AWS_ENDPOINT_URL"),
            Read("AWS_REGION") ?? Read("AWS_DEFAULT_REGION"),
            (Read(LambdaContract.WarmupModelsVariable) ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            port,
            sweepAfter,
            shardQueue,
            shardDeadLetters,
            Read("AWS_ENDPOINT_URL_SQS") ?? Read("AWS_ENDPOINT_URL"),
            rowsPerShard,
            StreamSettings.From(Read, bucket),
            bucket is null ? null : Read(ModelDirectoryVariable));
    }

    private static SqsQueueAddress? Queue(string? url, string variable) =>
        url is null
            ? null
            : SqsQueueAddress.TryParse(url) ?? throw new InvalidOperationException(
                $"{variable} must be an SQS queue URL (https://sqs.<region>.amazonaws.com/<account>/<queue>), not '{Inference.Repository.ModelNames.Printable(url)}'");
}

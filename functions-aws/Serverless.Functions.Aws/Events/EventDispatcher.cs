using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Serverless.Functions.Aws.Runtime;
using Serverless.Inference.Batch;
using Serverless.Inference.Batch.Sharding;
using Serverless.Inference.Protocol;

namespace Serverless.Functions.Aws.Events;

internal enum EventShape
{
    Unknown,
    HttpApi,
    S3,
    Sqs,
    S3TestEvent,
    ScheduledSweep,
    Kinesis,
}

/// <summary>The event is not one this function handles; the invocation fails and the loop goes on.</summary>
internal sealed class UnknownEventException(string message) : Exception(message);

/// <summary>Direct S3 records that failed: the invocation fails, so Lambda's asynchronous retries deliver it again.</summary>
internal sealed class BatchRecordsFailedException(string message) : Exception(message);

/// <summary>Which handler an SQS record goes to.</summary>
internal enum SqsRoute
{
    /// <summary>An S3 event notification (or S3's test event) from the notification queue.</summary>
    S3Notification,

    /// <summary>One shard of a planned batch file, from the shard queue.</summary>
    Shard,
}

/// <summary>Tells the events apart by their JSON shape and hands each to its handler.</summary>
/// <param name="shards">Set on the batch function (INFERENCE_SHARD_QUEUE_URL): shard messages go there.</param>
/// <param name="stream">Set on the stream function (INFERENCE_STREAM_MODEL): Kinesis events go there.</param>
internal sealed partial class EventDispatcher(
    OpenInferenceHandler inference,
    S3EventProcessor? batch,
    IncomingSweep? sweep,
    ILogger<EventDispatcher> logger,
    ShardRecordProcessor? shards = null,
    KinesisEventProcessor? stream = null) : ILambdaHandler
{
    private static readonly byte[] EmptyObject = "{}"u8.ToArray();

    public async Task<ReadOnlyMemory<byte>> HandleAsync(LambdaInvocation invocation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(invocation);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(invocation.Event);
        }
        catch (JsonException e)
        {
            throw new UnknownEventException($"the event is not JSON: {e.Message}");
        }

        using (document)
        {
            var root = document.RootElement;
            return Classify(root) switch
            {
                EventShape.HttpApi => await HandleHttpAsync(root, cancellationToken).ConfigureAwait(false),
                EventShape.S3 => await HandleS3Async(Deserialize(root, AwsEventJson.Default.S3Event), invocation.Deadline, cancellationToken).ConfigureAwait(false),
                EventShape.Sqs => await HandleSqsAsync(Deserialize(root, AwsEventJson.Default.SqsEvent), invocation.Deadline, cancellationToken).ConfigureAwait(false),
                EventShape.S3TestEvent => Ignore(),
                EventShape.ScheduledSweep => await HandleSweepAsync(invocation.Deadline, cancellationToken).ConfigureAwait(false),
                EventShape.Kinesis => await RequireStream().ProcessAsync(Deserialize(root, KinesisEventJson.Default.KinesisEvent), cancellationToken).ConfigureAwait(false),
                _ => throw new UnknownEventException(
                    "the event is neither an API Gateway HTTP API (payload 2.0) request, an S3 event notification, an SQS message batch, a Kinesis record batch nor an EventBridge scheduled event"),
            };
        }
    }

    public static EventShape Classify(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return EventShape.Unknown;
        }

        if (root.TryGetProperty("Records", out var records))
        {
            return records.ValueKind == JsonValueKind.Array && records.GetArrayLength() > 0 && SourceOf(records) is { } source
                ? source switch
                {
                    "aws:s3" => EventShape.S3,
                    "aws:sqs" => EventShape.Sqs,
                    "aws:kinesis" => EventShape.Kinesis,
                    _ => EventShape.Unknown,
                }
                : EventShape.Unknown;
        }

        if (root.TryGetProperty("source", out var eventSource) && eventSource.ValueKind == JsonValueKind.String && eventSource.ValueEquals("aws.events")
            && root.TryGetProperty("detail-type", out var detailType) && detailType.ValueKind == JsonValueKind.String && detailType.ValueEquals("Scheduled Event"))
        {
            return EventShape.ScheduledSweep;
        }

        if (root.TryGetProperty("Event", out var name) && name.ValueKind == JsonValueKind.String && name.ValueEquals("s3:TestEvent"))
        {
            return EventShape.S3TestEvent;
        }

        return root.TryGetProperty("requestContext", out var context) && context.ValueKind == JsonValueKind.Object
            && (root.TryGetProperty("rawPath", out _) || root.TryGetProperty("version", out _))
            ? EventShape.HttpApi
            : EventShape.Unknown;
    }

    /// <summary>The records' common eventSource; null when they differ or one has none.</summary>
    private static string? SourceOf(JsonElement records)
    {
        string? source = null;
        foreach (var record in records.EnumerateArray())
        {
            if (record.ValueKind != JsonValueKind.Object
                || !record.TryGetProperty("eventSource", out var value)
                || value.ValueKind != JsonValueKind.String
                || (source is not null && !value.ValueEquals(source)))
            {
                return null;
            }

            source ??= value.GetString();
        }

        return source;
    }

    private async Task<ReadOnlyMemory<byte>> HandleHttpAsync(JsonElement root, CancellationToken cancellationToken)
    {
        HttpApiRequest? request;
        try
        {
            request = root.Deserialize(AwsEventJson.Default.HttpApiRequest);
        }
        catch (JsonException e)
        {
            return HttpApiMapper.WriteError(400, $"the API Gateway event has a field of the wrong type: {e.Path}");
        }

        if (request is null)
        {
            return HttpApiMapper.WriteError(400, "the API Gateway event is empty");
        }

        var oipRequest = HttpApiMapper.TryMap(request, out var problem);
        if (oipRequest is null)
        {
            return HttpApiMapper.WriteError(400, problem!);
        }

        using var response = await inference.HandleAsync(oipRequest, cancellationToken).ConfigureAwait(false);
        return HttpApiMapper.WriteResponse(response);
    }

    /// <summary>The scheduled rule's tick: files under incoming/ whose notification never came are scored now.</summary>
    private async Task<ReadOnlyMemory<byte>> HandleSweepAsync(DateTimeOffset? deadline, CancellationToken cancellationToken)
    {
        var incoming = sweep ?? throw new InvalidOperationException($"the scheduled sweep needs the bucket: set {LambdaContract.BucketVariable}");
        var summary = await incoming.RunAsync(deadline, cancellationToken).ConfigureAwait(false);
        return JsonSerializer.SerializeToUtf8Bytes(summary, AwsEventJson.Default.SweepSummary);
    }

    private async Task<ReadOnlyMemory<byte>> HandleS3Async(S3Event s3Event, DateTimeOffset? deadline, CancellationToken cancellationToken)
    {
        var processor = RequireBatch();
        var failed = new List<string>();
        foreach (var record in s3Event.Records ?? [])
        {
            if (await processor.ProcessAsync(record, deadline, cancellationToken).ConfigureAwait(false) == RecordResult.Retry)
            {
                failed.Add(record.S3?.Object?.Key is { } key ? WebUtility.UrlDecode(key) : "(no key)");
            }
        }

        return failed.Count == 0
            ? EmptyObject
            : throw new BatchRecordsFailedException($"{failed.Count} of {s3Event.Records!.Length} S3 records failed and should be delivered again: {string.Join(", ", failed)}");
    }

    private async Task<ReadOnlyMemory<byte>> HandleSqsAsync(SqsEvent sqsEvent, DateTimeOffset? deadline, CancellationToken cancellationToken)
    {
        var failures = new List<SqsBatchItemFailure>();
        foreach (var message in sqsEvent.Records ?? [])
        {
            if (message.MessageId is null)
            {
                LogNoMessageId(logger);
                continue;
            }

            var result = Route(message) == SqsRoute.Shard
                ? await ProcessShardAsync(message, deadline, cancellationToken).ConfigureAwait(false)
                : await ProcessMessageAsync(RequireBatch(), message, deadline, cancellationToken).ConfigureAwait(false);
            if (result == RecordResult.Retry)
            {
                failures.Add(new SqsBatchItemFailure(message.MessageId));
            }
        }

        return JsonSerializer.SerializeToUtf8Bytes(new SqsBatchResponse(failures), AwsEventJson.Default.SqsBatchResponse);
    }

    /// <summary>
    /// The queue a record came from decides: a record whose <c>eventSourceARN</c> is the shard queue's is a shard
    /// message, whatever its body (a malformed one is dead-lettered with its reason); any other queue carries S3
    /// notifications. Only a record without an ARN (a hand-made event) is judged by its body: a JSON object with a
    /// "plan" property is a shard message.
    /// </summary>
    public SqsRoute Route(SqsMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.EventSourceArn is { Length: > 0 } arn)
        {
            return shards?.IsShardQueue(arn) == true ? SqsRoute.Shard : SqsRoute.S3Notification;
        }

        return LooksLikeShard(message.Body) ? SqsRoute.Shard : SqsRoute.S3Notification;
    }

    private static bool LooksLikeShard(string? body)
    {
        if (string.IsNullOrEmpty(body) || body.Length > ShardMessage.MaxBytes)
        {
            return false;
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("plan", out _);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private async Task<RecordResult> ProcessShardAsync(SqsMessage message, DateTimeOffset? deadline, CancellationToken cancellationToken)
    {
        if (shards is null)
        {
            // Left to fail: after the queue's maxReceiveCount SQS moves it to that queue's dead-letter queue.
            LogNoShardQueue(logger, message.MessageId, LambdaContract.ShardQueueUrlVariable);
            return RecordResult.Retry;
        }

        return await shards.ProcessAsync(message, deadline, cancellationToken).ConfigureAwait(false);
    }

    private async Task<RecordResult> ProcessMessageAsync(S3EventProcessor processor, SqsMessage message, DateTimeOffset? deadline, CancellationToken cancellationToken)
    {
        S3Event? s3Event = null;
        var shape = EventShape.Unknown;
        try
        {
            using var body = JsonDocument.Parse(message.Body ?? string.Empty);
            shape = Classify(body.RootElement);
            if (shape == EventShape.S3)
            {
                s3Event = body.RootElement.Deserialize(AwsEventJson.Default.S3Event);
            }
        }
        catch (JsonException e)
        {
            LogNotJson(logger, message.MessageId, e.Message);
        }

        if (shape == EventShape.S3TestEvent)
        {
            LogTestEvent(logger, message.MessageId);
            return RecordResult.Done;
        }

        if (s3Event?.Records is null)
        {
            // Left to fail: after the queue's maxReceiveCount it lands in the dead-letter queue, where someone can look at it.
            LogNoS3Event(logger, message.MessageId);
            return RecordResult.Retry;
        }

        var result = RecordResult.Done;
        foreach (var record in s3Event.Records)
        {
            if (await processor.ProcessAsync(record, deadline, cancellationToken).ConfigureAwait(false) == RecordResult.Retry)
            {
                result = RecordResult.Retry;
            }
        }

        return result;
    }

    private S3EventProcessor RequireBatch() =>
        batch ?? throw new InvalidOperationException($"S3 events need the bucket: set {LambdaContract.BucketVariable}");

    private KinesisEventProcessor RequireStream() =>
        stream ?? throw new InvalidOperationException($"Kinesis events go to the stream function: set {LambdaContract.StreamModelVariable} (and {LambdaContract.AlertQueueUrlVariable})");

    private static T Deserialize<T>(JsonElement root, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
    {
        try
        {
            return root.Deserialize(type) ?? throw new UnknownEventException($"the {typeof(T).Name} is empty");
        }
        catch (JsonException e)
        {
            throw new UnknownEventException($"the {typeof(T).Name} has a field of the wrong type at {e.Path}: {e.Message}");
        }
    }

    private static ReadOnlyMemory<byte> Ignore() => EmptyObject;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ignored an SQS record without a messageId")]
    private static partial void LogNoMessageId(ILogger logger);

    [LoggerMessage(Level = LogLevel.Error, Message = "SQS message {MessageId} is a shard message, but this function has no shard queue ({Variable} is not set)")]
    private static partial void LogNoShardQueue(ILogger logger, string? messageId, string variable);

    [LoggerMessage(Level = LogLevel.Error, Message = "SQS message {MessageId} is not an S3 event: {Message}")]
    private static partial void LogNotJson(ILogger logger, string? messageId, string message);

    [LoggerMessage(Level = LogLevel.Information, Message = "Ignored the s3:TestEvent in SQS message {MessageId}")]
    private static partial void LogTestEvent(ILogger logger, string? messageId);

    [LoggerMessage(Level = LogLevel.Error, Message = "SQS message {MessageId} does not carry an S3 event notification")]
    private static partial void LogNoS3Event(ILogger logger, string? messageId);
}

using System.Text.Json.Serialization;

namespace Serverless.Functions.Aws.Events;

/// <summary>API Gateway HTTP API, payload format 2.0: the fields the adapter reads.</summary>
internal sealed record HttpApiRequest(
    string? Version,
    string? RawPath,
    string? RawQueryString,
    Dictionary<string, string>? Headers,
    string[]? Cookies,
    string? Body,
    bool IsBase64Encoded,
    HttpApiRequestContext? RequestContext);

internal sealed record HttpApiRequestContext(string? Stage, string? RequestId, HttpApiHttp? Http);

internal sealed record HttpApiHttp(string? Method, string? Path);

/// <summary>An S3 event notification, delivered directly or as the body of an SQS message.</summary>
internal sealed record S3Event([property: JsonPropertyName("Records")] S3EventRecord[]? Records);

internal sealed record S3EventRecord(string? EventSource, string? EventName, [property: JsonPropertyName("s3")] S3Entity? S3);

internal sealed record S3Entity(S3BucketEntity? Bucket, S3ObjectEntity? Object);

internal sealed record S3BucketEntity(string? Name);

/// <param name="Key">URL-encoded, form style: '+' is a space.</param>
internal sealed record S3ObjectEntity(string? Key, long? Size, [property: JsonPropertyName("eTag")] string? ETag, string? VersionId);

internal sealed record SqsEvent([property: JsonPropertyName("Records")] SqsMessage[]? Records);

/// <param name="EventSourceArn">The queue the message came from: tells the shard queue's messages from S3 notifications.</param>
internal sealed record SqsMessage(string? MessageId, string? Body, string? EventSource, [property: JsonPropertyName("eventSourceARN")] string? EventSourceArn = null);

/// <summary>The partial batch response an SQS event source mapping with ReportBatchItemFailures reads.</summary>
internal sealed record SqsBatchResponse(IReadOnlyList<SqsBatchItemFailure> BatchItemFailures);

internal sealed record SqsBatchItemFailure(string ItemIdentifier);

/// <summary>Source-generated (de)serialisation: no reflection, so the bootstrap publishes as Native AOT.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(HttpApiRequest))]
[JsonSerializable(typeof(S3Event))]
[JsonSerializable(typeof(SqsEvent))]
[JsonSerializable(typeof(SqsBatchResponse))]
[JsonSerializable(typeof(Serverless.Inference.Batch.SweepSummary))]
internal sealed partial class AwsEventJson : JsonSerializerContext;

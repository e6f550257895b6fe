using System.Globalization;
using System.Text.Json.Nodes;

namespace Serverless.Functions.Aws.Tests.Support;

/// <summary>One Kinesis record as a producer put it: its partition key, sequence number, data (base64 unless said) and arrival.</summary>
/// <param name="PartitionKey">Null only for a record Lambda itself would never deliver: the event is malformed.</param>
public sealed record KinesisItem(string? PartitionKey, string SequenceNumber, string Data, double Arrival);

/// <summary>Kinesis Data Streams events in the documented shape, as an event source mapping hands them to Lambda: one shard each.</summary>
internal static class KinesisEvents
{
    public const string StreamName = "sensors";

    public const string ShardId = "shardId-000000000003";

    public const string StreamArn = "arn:aws:kinesis:us-east-1:123456789012:stream/" + StreamName;

    /// <summary>The predictions objects' source: the stream's name and the shard's id.</summary>
    public const string Source = StreamName + "-" + ShardId;

    /// <summary>2026-11-28T21:21:00Z: the hour folder the sample records' predictions go to.</summary>
    public const double FirstArrival = 1795900860.125;

    public const string Setosa = """{"Features":[5.1,3.5,1.4,0.2]}""";

    public const string Versicolor = """{"Features":[6.7,3.1,4.4,1.4]}""";

    public const string Virginica = """{"Features":[6.3,3.3,6.0,2.5]}""";

    /// <summary>Sequence numbers as Kinesis writes them: 56 digits, increasing along the shard.</summary>
    public static string SequenceNumber(int index) =>
        "4965662693743612385627912436720340901234322394839" + index.ToString("D7", CultureInfo.InvariantCulture);

    /// <summary>Records of the given JSON payloads in order, one second apart, under the given partition keys.</summary>
    public static List<KinesisItem> Items(params (string Key, string Json)[] records) =>
        [.. records.Select((record, i) => Item(i, record.Key, record.Json))];

    public static KinesisItem Item(int index, string partitionKey, string json) =>
        new(partitionKey, SequenceNumber(index), Convert.ToBase64String(Encoding.UTF8.GetBytes(json)), FirstArrival + index);

    public static string Event(IEnumerable<KinesisItem> items) => new JsonObject
    {
        ["Records"] = new JsonArray([.. items.Select(item => (JsonNode)new JsonObject
        {
            ["kinesis"] = new JsonObject
            {
                ["kinesisSchemaVersion"] = "1.0",
                ["partitionKey"] = item.PartitionKey,
                ["sequenceNumber"] = item.SequenceNumber,
                ["data"] = item.Data,
                ["approximateArrivalTimestamp"] = item.Arrival,
            },
            ["eventSource"] = "aws:kinesis",
            ["eventVersion"] = "1.0",
            ["eventID"] = $"{ShardId}:{item.SequenceNumber}",
            ["eventName"] = "aws:kinesis:record",
            ["invokeIdentityArn"] = "arn:aws:iam::123456789012:role/stream-function",
            ["awsRegion"] = "us-east-1",
            ["eventSourceARN"] = StreamArn,
        })]),
    }.ToJsonString();
}

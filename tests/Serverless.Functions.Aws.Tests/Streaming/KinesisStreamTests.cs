using System.Text.Json;
using Amazon.SQS.Model;
using Serverless.Functions.Aws.Events;
using static Serverless.Functions.Aws.Tests.Support.KinesisEvents;
using static Serverless.Functions.Aws.Tests.Support.StreamOutput;

namespace Serverless.Functions.Aws.Tests.Streaming;

/// <summary>
/// Kinesis events in the documented shape through the dispatcher into the core's stream processor, against moto's S3
/// (predictions/, stream-state/) and SQS (the alert queue): order, duplicates, per-record errors, partial failures.
/// </summary>
public sealed class KinesisStreamTests(MotoServer moto) : IClassFixture<MotoServer>
{
    /// <summary>
    /// Six records of two sensors: runs of two make three predictions objects. Alerts: virginica at 1 and 4, and
    /// versicolor twice in a row for sensor-a at 3 (2 and 3).
    /// </summary>
    private static List<KinesisItem> SixRecords() => Items(
        ("sensor-a", Setosa), ("sensor-a", Virginica), ("sensor-a", Versicolor), ("sensor-a", Versicolor), ("sensor-b", Virginica), ("sensor-b", Setosa));

    /// <summary>"rule key position" of the six records' alerts, in ordinal order.</summary>
    private static readonly string[] SixAlerts =
    [
        $"{MotoStream.VersicolorTwiceRule} sensor-a {SequenceNumber(3)}",
        $"{MotoStream.VirginicaRule} sensor-a {SequenceNumber(1)}",
        $"{MotoStream.VirginicaRule} sensor-b {SequenceNumber(4)}",
    ];

    [Fact]
    public async Task Kinesis_DocumentedEvent_OrderedPredictionsUnderTheHourAndOneMessagePerAlert()
    {
        await using var stream = await MotoStream.CreateAsync(moto);
        var records = SixRecords();

        var failures = await MotoStream.InvokeAsync(stream.NewInstance(), records);

        Assert.Empty(failures);
        Assert.Equal(
            [
                Predictions(SequenceNumber(0), SequenceNumber(1)),
                Predictions(SequenceNumber(2), SequenceNumber(3)),
                Predictions(SequenceNumber(4), SequenceNumber(5)),
            ],
            await stream.KeysAsync(LambdaContract.PredictionsPrefix));
        var lines = await stream.PredictionLinesAsync();
        Assert.Equal(records.Select(r => r.SequenceNumber), lines.Select(l => l.GetProperty("position").GetString()));
        Assert.Equal(records.Select(r => r.PartitionKey), lines.Select(l => l.GetProperty("key").GetString()));
        Assert.Equal(["setosa", "virginica", "versicolor", "versicolor", "virginica", "setosa"], lines.Select(Label));
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1795900861125), lines[1].GetProperty("timestamp").GetDateTimeOffset());
        Assert.All(lines, l => Assert.Equal(MotoStream.Model, l.GetProperty("model").GetString()));
        var alerts = await stream.DrainAlertsAsync(3);
        Assert.Equal(SixAlerts, alerts.Select(Describe).Order(StringComparer.Ordinal));
        Assert.All(alerts, AssertIdAttributeIsTheBodysId);
    }

    [Fact]
    public async Task Kinesis_SameBatchDeliveredAgainToAnotherInstance_NoNewObjectsNoRepeatedAlerts()
    {
        await using var stream = await MotoStream.CreateAsync(moto);
        var records = SixRecords();
        Assert.Empty(await MotoStream.InvokeAsync(stream.NewInstance(), records));
        var first = await ETagsAsync(stream);

        var failures = await MotoStream.InvokeAsync(stream.NewInstance(), records);

        Assert.Empty(failures);
        Assert.Equal(first, await ETagsAsync(stream));
        Assert.Equal(6, (await stream.PredictionLinesAsync()).Count);
        Assert.Equal(SixAlerts, (await stream.DrainAlertsAsync(3)).Select(Describe).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Kinesis_BadBase64AndBadJsonMidBatch_ErrorLinesInTheirPlaceTheRestScored()
    {
        await using var stream = await MotoStream.CreateAsync(moto);
        List<KinesisItem> records =
        [
            Item(0, "sensor-a", Setosa),
            new("sensor-a", SequenceNumber(1), "%%% not base64 %%%", FirstArrival + 1),
            Item(2, "sensor-b", """{"Features":[6.3,3.3,"""),
            Item(3, "sensor-b", Virginica),
        ];

        var failures = await MotoStream.InvokeAsync(stream.NewInstance(), records);

        Assert.Empty(failures);
        var lines = await stream.PredictionLinesAsync();
        Assert.Equal(records.Select(r => r.SequenceNumber), lines.Select(l => l.GetProperty("position").GetString()));
        Assert.Equal("setosa", Label(lines[0]));
        Assert.Contains("base64", lines[1].GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(lines[2].GetProperty("error").GetString()));
        Assert.False(lines[2].TryGetProperty("outputs", out _));
        Assert.Equal("virginica", Label(lines[3]));
        Assert.Equal([$"{MotoStream.VirginicaRule} sensor-b {SequenceNumber(3)}"], (await stream.DrainAlertsAsync(1)).Select(Describe));
    }

    [Fact]
    public async Task Kinesis_StoreFailsAfterOneObject_FirstUncommittedSequenceNumberAndTheRetryFromItCompletesOnce()
    {
        await using var stream = await MotoStream.CreateAsync(moto);
        var records = SixRecords();
        RefusingStore? refusing = null;
        var failing = stream.NewInstance(store => refusing = new RefusingStore(store, allowed: 1));

        var failures = await MotoStream.InvokeAsync(failing, records);

        Assert.Equal([SequenceNumber(2)], failures);
        Assert.Equal(1, refusing!.Refused);
        Assert.Equal([Predictions(SequenceNumber(0), SequenceNumber(1))], await stream.KeysAsync(LambdaContract.PredictionsPrefix));
        Assert.Equal([$"{MotoStream.VirginicaRule} sensor-a {SequenceNumber(1)}"], (await stream.DrainAlertsAsync(1)).Select(Describe));

        // Lambda delivers the shard again from the reported record, here to the same environment, its store healed.
        refusing.Heal();
        var retry = await MotoStream.InvokeAsync(failing, records.Skip(2));

        Assert.Empty(retry);
        var lines = await stream.PredictionLinesAsync();
        Assert.Equal(records.Select(r => r.SequenceNumber), lines.Select(l => l.GetProperty("position").GetString()));
        Assert.Equal(["setosa", "virginica", "versicolor", "versicolor", "virginica", "setosa"], lines.Select(Label));
        Assert.Equal(
            [$"{MotoStream.VersicolorTwiceRule} sensor-a {SequenceNumber(3)}", $"{MotoStream.VirginicaRule} sensor-b {SequenceNumber(4)}"],
            (await stream.DrainAlertsAsync(2)).Select(Describe).Order(StringComparer.Ordinal));
    }

    /// <summary>
    /// The mapping as Lambda runs it (batches of four, a partial response retried from its sequence number, a failed
    /// invocation bisected, three retries): the store fails twice, and one record is malformed in Lambda's own shape
    /// (no partition key), which fails its invocation until bisecting leaves it alone and it is given up on. The end
    /// state: every other record has exactly one predictions line, in order, and each alert went out once.
    /// </summary>
    [Fact]
    public async Task Kinesis_LambdaRetriesAndBisects_EveryGoodRecordOnceInOrderThePoisonRecordGivenUp()
    {
        await using var stream = await MotoStream.CreateAsync(moto);
        var shard = Items(
            ("sensor-a", Setosa), ("sensor-a", Virginica), ("sensor-b", Versicolor), ("sensor-b", Versicolor),
            ("sensor-a", Setosa), ("sensor-b", Setosa), ("sensor-a", Virginica), ("sensor-b", Virginica));
        shard[5] = shard[5] with { PartitionKey = null };
        var refusals = 0;
        var instance = stream.NewInstance(store => new RefusingStore(store, allowed: 1));
        var healthy = stream.NewInstance();
        var poller = new KinesisPoller(
            async batch => await MotoStream.InvokeAsync(refusals++ < 2 ? instance : healthy, batch),
            batchSize: 4,
            retryAttempts: 3);

        await poller.RunAsync(shard);

        var poison = Assert.Single(poller.GivenUp);
        Assert.Equal([SequenceNumber(5)], poison.Select(r => r.SequenceNumber));
        var lines = await stream.PredictionLinesAsync();
        Assert.Equal(shard.Where((_, i) => i != 5).Select(r => r.SequenceNumber), lines.Select(l => l.GetProperty("position").GetString()).Order(StringComparer.Ordinal));
        Assert.Equal(
            [
                $"{MotoStream.VersicolorTwiceRule} sensor-b {SequenceNumber(3)}",
                $"{MotoStream.VirginicaRule} sensor-a {SequenceNumber(1)}",
                $"{MotoStream.VirginicaRule} sensor-a {SequenceNumber(6)}",
                $"{MotoStream.VirginicaRule} sensor-b {SequenceNumber(7)}",
            ],
            (await stream.DrainAlertsAsync(4)).Select(Describe).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Kinesis_FifoAlertQueue_DeduplicationIdIsTheAlertId()
    {
        await using var stream = await MotoStream.CreateAsync(moto, fifo: true);

        Assert.Empty(await MotoStream.InvokeAsync(stream.NewInstance(), SixRecords()));

        var alerts = await stream.DrainAlertsAsync(3);
        Assert.Equal(SixAlerts, alerts.Select(Describe).Order(StringComparer.Ordinal));
        Assert.All(alerts, AssertIdAttributeIsTheBodysId);
    }

    [Fact]
    public async Task Kinesis_NotTheStreamFunction_InvocationFailsNamingTheVariable()
    {
        await using var function = await MotoFunction.CreateAsync(moto, uploadModel: false);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => function.InvokeAsync(Event(SixRecords())));

        Assert.Contains(LambdaContract.StreamModelVariable, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Classify_KinesisRecords_Kinesis()
    {
        using var document = JsonDocument.Parse(Event(SixRecords()));

        Assert.Equal(EventShape.Kinesis, EventDispatcher.Classify(document.RootElement));
    }

    private static string Predictions(string first, string last) =>
        $"{LambdaContract.PredictionsPrefix}{MotoStream.Model}/2026/11/28/21/{Source}-{first}-{last}.jsonl";


    private static void AssertIdAttributeIsTheBodysId(Message message)
    {
        using var body = JsonDocument.Parse(message.Body);
        var id = body.RootElement.GetProperty("id").GetString();
        Assert.False(string.IsNullOrEmpty(id));
        Assert.Equal(id, message.MessageAttributes[LambdaContract.AlertIdAttribute].StringValue);
    }

    private static async Task<Dictionary<string, string>> ETagsAsync(MotoStream stream)
    {
        var tags = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var key in await stream.KeysAsync(LambdaContract.PredictionsPrefix))
        {
            tags[key] = (await stream.S3.GetObjectMetadataAsync(stream.Bucket, key)).ETag;
        }

        return tags;
    }
}

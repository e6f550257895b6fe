using System.Net;
using Amazon.S3;
using Amazon.S3.Model;
using Serverless.Functions.Aws.Events;

namespace Serverless.Functions.Aws.Tests.Batch;

/// <summary>
/// Batch scoring against moto's S3 and SQS: the S3 event is the one moto itself delivers to the queue when a
/// file lands under incoming/, handed to the function as an SQS event and as a direct S3 event.
/// </summary>
public sealed class MotoBatchTests(MotoServer moto) : IClassFixture<MotoServer>
{
    private static JsonElement Json(ReadOnlyMemory<byte> bytes) => JsonDocument.Parse(bytes).RootElement;

    private static string[] FailedIds(ReadOnlyMemory<byte> response) =>
        [.. Json(response).GetProperty("batchItemFailures").EnumerateArray().Select(f => f.GetProperty("itemIdentifier").GetString()!)];

    [Fact]
    public async Task SqsEvent_RealNotificationForCsv_PublishesResultsAndSummary()
    {
        await using var function = await MotoFunction.CreateAsync(moto);
        await function.PutAsync("incoming/iris/flowers.csv", TestModels.IrisCsv);
        var messages = await function.ReceiveAsync(2);

        Assert.Contains(messages, m => m.Body.Contains("s3:TestEvent", StringComparison.Ordinal));
        var response = await function.InvokeAsync(function.SqsEvent(messages));

        Assert.Empty(FailedIds(response));
        var outgoing = await function.KeysAsync("outgoing/");
        Assert.Equal(2, outgoing.Count);
        var results = Assert.Single(outgoing, k => k.EndsWith(".results.csv", StringComparison.Ordinal));
        var summaryKey = Assert.Single(outgoing, k => k.EndsWith(".summary.json", StringComparison.Ordinal));
        Assert.StartsWith("outgoing/iris/flowers.csv.", results, StringComparison.Ordinal);

        var lines = (await function.ReadAsync(results)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        Assert.Equal(TestModels.IrisLabels, lines.Skip(1).Select(line => line.Split(',')[^2]));

        var summary = Json(Encoding.UTF8.GetBytes(await function.ReadAsync(summaryKey)));
        Assert.Equal("incoming/iris/flowers.csv", summary.GetProperty("input").GetString());
        Assert.Equal(results, summary.GetProperty("output").GetString());
        Assert.Equal((3L, 3L, 0L), (summary.GetProperty("rows_in").GetInt64(), summary.GetProperty("rows_ok").GetInt64(), summary.GetProperty("rows_failed").GetInt64()));
        var head = await function.S3.GetObjectMetadataAsync(function.Bucket, "incoming/iris/flowers.csv");
        Assert.Equal(head.ETag.Trim('"'), summary.GetProperty("input_identity").GetString());
        Assert.Empty(await function.KeysAsync("failed/"));
    }

    [Fact]
    public async Task DirectS3Event_SameEventTwiceAndConcurrently_OneOutput()
    {
        await using var function = await MotoFunction.CreateAsync(moto);
        await function.PutAsync("incoming/iris/1/twice-once.csv", TestModels.IrisCsv);
        var s3Event = Assert.Single(await function.ReceiveS3EventsAsync(1)).Body;

        var responses = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => function.InvokeAsync(s3Event)));
        var again = await function.InvokeAsync(s3Event);

        Assert.All([.. responses, again], r => Assert.Equal("{}", Encoding.UTF8.GetString(r.Span)));
        var outgoing = await function.KeysAsync("outgoing/");
        Assert.Equal(2, outgoing.Count);
        Assert.All(outgoing, key => Assert.StartsWith("outgoing/iris/1/twice-once.csv.", key, StringComparison.Ordinal));
    }

    [Fact]
    public async Task SqsEvent_ZeroByteObject_IsScoredAsEmptyWithoutRedelivery()
    {
        await using var function = await MotoFunction.CreateAsync(moto);
        await function.PutAsync("incoming/iris/empty.csv", string.Empty);
        var messages = await function.ReceiveS3EventsAsync(1);

        var response = await function.InvokeAsync(function.SqsEvent(messages));

        Assert.Empty(FailedIds(response));
        var outgoing = await function.KeysAsync("outgoing/");
        Assert.Equal(2, outgoing.Count);
        Assert.Equal(string.Empty, await function.ReadAsync(Assert.Single(outgoing, k => k.EndsWith(".results.csv", StringComparison.Ordinal))));
        var summary = Json(Encoding.UTF8.GetBytes(await function.ReadAsync(Assert.Single(outgoing, k => k.EndsWith(".summary.json", StringComparison.Ordinal)))));
        Assert.Equal(0, summary.GetProperty("rows_in").GetInt64());
        Assert.Empty(await function.KeysAsync("failed/"));
    }

    [Fact]
    public async Task DirectS3Event_PercentEncodedKey_IsDecodedAndScored()
    {
        await using var function = await MotoFunction.CreateAsync(moto);
        await function.PutAsync("incoming/iris/flowers-2.csv", TestModels.IrisCsv);

        var response = await function.InvokeAsync(S3Event(function.Bucket, "incoming%2Firis%2Fflowers%2D2.csv"));

        Assert.Equal("{}", Encoding.UTF8.GetString(response.Span));
        Assert.Equal(2, (await function.KeysAsync("outgoing/iris/flowers-2.csv.")).Count);
    }

    [Theory]
    [InlineData("incoming/iris/a+b.csv")]
    [InlineData("incoming/iris/%2E%2E/x.csv")]
    [InlineData("incoming/iris/a%3Bb.csv")]
    [InlineData("incoming/%2E%2E/%2E%2E/x.csv")]
    [InlineData("incoming/iris/..%2Fx.csv")]
    public async Task DirectS3Event_KeyDecodingToDotDotOrBadCharacters_IsRefusedNotRetried(string encodedKey)
    {
        await using var function = await MotoFunction.CreateAsync(moto);

        var response = await function.InvokeAsync(S3Event(function.Bucket, encodedKey));

        Assert.Equal("{}", Encoding.UTF8.GetString(response.Span));
        Assert.Empty(await function.KeysAsync("outgoing/"));
        Assert.Empty(await function.KeysAsync("failed/"));
    }

    [Theory]
    [InlineData("someone-elses-bucket", "incoming/iris/flowers.csv")]
    [InlineData(null, "outgoing/iris/flowers.csv")]
    [InlineData(null, "models/iris/1/model.onnx")]
    public async Task DirectS3Event_ForeignBucketOrPrefix_IsRefusedAndNothingIsWritten(string? bucket, string key)
    {
        await using var function = await MotoFunction.CreateAsync(moto);
        await function.PutAsync("incoming/iris/flowers.csv", TestModels.IrisCsv);
        await function.PutAsync("outgoing/iris/flowers.csv", TestModels.IrisCsv);

        var response = await function.InvokeAsync(S3Event(bucket ?? function.Bucket, key));

        Assert.Equal("{}", Encoding.UTF8.GetString(response.Span));
        Assert.Equal(["outgoing/iris/flowers.csv"], await function.KeysAsync("outgoing/"));
    }

    private const string WrongColumns = "a,b,c,d\n1,2,3,4\n";

    [Fact]
    public async Task SqsEvent_OneFailingRecord_ReportsOnlyThatMessage()
    {
        await using var function = await MotoFunction.CreateAsync(moto);
        await function.PutAsync("incoming/iris/good.csv", TestModels.IrisCsv);
        await function.PutAsync("incoming/iris/bad.csv", WrongColumns);
        var messages = await function.ReceiveS3EventsAsync(2);
        var bad = Assert.Single(messages, m => m.Body.Contains("bad.csv", StringComparison.Ordinal));

        var response = await function.InvokeAsync(function.SqsEvent(messages));

        Assert.Equal([bad.MessageId], FailedIds(response));
        Assert.Equal(2, (await function.KeysAsync("outgoing/iris/")).Count);
        Assert.Single(await function.KeysAsync("failed/iris/"), k => k.EndsWith(".attempts", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SqsEvent_FailingFileRedelivered_MovedToFailedAfterMaxAttempts()
    {
        await using var function = await MotoFunction.CreateAsync(moto);
        await function.PutAsync("incoming/iris/bad.csv", WrongColumns);
        var sqsEvent = function.SqsEvent(await function.ReceiveS3EventsAsync(1));

        var first = await function.InvokeAsync(sqsEvent);
        var second = await function.InvokeAsync(sqsEvent);
        var third = await function.InvokeAsync(sqsEvent);

        Assert.Single(FailedIds(first));
        Assert.Single(FailedIds(second));
        Assert.Empty(FailedIds(third));
        Assert.Empty(await function.KeysAsync("incoming/"));
        var failed = await function.KeysAsync("failed/iris/");
        Assert.Contains("failed/iris/bad.csv", failed);
        Assert.Contains("failed/iris/bad.csv.error.json", failed);
        Assert.Equal(WrongColumns, await function.ReadAsync("failed/iris/bad.csv"));
    }

    [Fact]
    public async Task SqsEvent_UnknownModel_MovedToFailedAtOnceWithoutRedelivery()
    {
        await using var function = await MotoFunction.CreateAsync(moto);
        await function.PutAsync("incoming/nomodel/bad.csv", TestModels.IrisCsv);

        var response = await function.InvokeAsync(function.SqsEvent(await function.ReceiveS3EventsAsync(1)));

        Assert.Empty(FailedIds(response));
        Assert.Empty(await function.KeysAsync("incoming/"));
        Assert.Equal(TestModels.IrisCsv, await function.ReadAsync("failed/nomodel/bad.csv"));
        Assert.Contains("unknown model 'nomodel'", await function.ReadAsync("failed/nomodel/bad.csv.error.json"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task DirectS3Event_FailingRecord_FailsTheInvocation()
    {
        await using var function = await MotoFunction.CreateAsync(moto);
        await function.PutAsync("incoming/iris/bad.csv", WrongColumns);
        var s3Event = Assert.Single(await function.ReceiveS3EventsAsync(1)).Body;

        var failure = await Assert.ThrowsAsync<BatchRecordsFailedException>(() => function.InvokeAsync(s3Event));

        Assert.Equal("1 of 1 S3 records failed and should be delivered again: incoming/iris/bad.csv", failure.Message);
    }

    [Theory]
    [InlineData("incoming/iris/Sales report 2026 (final)+v2 é.csv")]
    [InlineData("incoming/iris/my file+v2 é.csv")]
    [InlineData("incoming/iris/100% sure, (really).csv")]
    public async Task SqsEvent_FileNamesPeopleUse_ThroughTheRealS3EncodingScored(string key)
    {
        await using var function = await MotoFunction.CreateAsync(moto);
        await function.PutAsync(key, TestModels.IrisCsv);
        var messages = await function.ReceiveS3EventsAsync(1);

        var response = await function.InvokeAsync(function.SqsEvent(messages));
        var direct = await function.InvokeAsync(Assert.Single(messages).Body);

        Assert.Empty(FailedIds(response));
        Assert.Equal("{}", Encoding.UTF8.GetString(direct.Span));
        var outgoing = await function.KeysAsync("outgoing/iris/");
        Assert.Equal(2, outgoing.Count);
        Assert.All(outgoing, k => Assert.StartsWith("outgoing/" + key["incoming/".Length..] + ".", k, StringComparison.Ordinal));
    }

    [Fact]
    public async Task SqsEvent_KeyOutsideTheLayout_MovedToFailedRefusedWithTheReason()
    {
        await using var function = await MotoFunction.CreateAsync(moto);
        await function.PutAsync("incoming/My Model/x.csv", TestModels.IrisCsv);

        var response = await function.InvokeAsync(function.SqsEvent(await function.ReceiveS3EventsAsync(1)));

        Assert.Empty(FailedIds(response));
        Assert.Empty(await function.KeysAsync("incoming/"));
        var refused = Serverless.Inference.Batch.BatchKey.RefusedKey("incoming/My Model/x.csv");
        Assert.Equal([refused, refused + ".error.json"], await function.KeysAsync("failed/"));
        var document = Json(Encoding.UTF8.GetBytes(await function.ReadAsync(refused + ".error.json")));
        Assert.Equal("incoming/My Model/x.csv", document.GetProperty("input").GetString());
        Assert.Contains("is not a model or version name", document.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SqsEvent_ObjectThatCannotBeRead_CountedThenReportedUnderFailedWithoutEverThrowing()
    {
        await using var function = await MotoFunction.CreateAsync(moto);
        await function.S3.PutObjectAsync(new PutObjectRequest { BucketName = function.Bucket, Key = "incoming/iris/cold.csv", ContentBody = TestModels.IrisCsv, StorageClass = S3StorageClass.Glacier });
        var sqsEvent = function.SqsEvent(await function.ReceiveS3EventsAsync(1));

        var responses = new List<string[]>();
        for (var delivery = 0; delivery < 4; delivery++)
        {
            responses.Add(FailedIds(await function.InvokeAsync(sqsEvent)));
        }

        Assert.Equal([1, 1, 0, 0], responses.Select(r => r.Length));
        // The object cannot be copied, so it stays; its error document says so.
        Assert.Equal(["incoming/iris/cold.csv"], await function.KeysAsync("incoming/"));
        var document = Json(Encoding.UTF8.GetBytes(await function.ReadAsync("failed/iris/cold.csv.error.json")));
        Assert.Equal(JsonValueKind.Null, document.GetProperty("moved_to").ValueKind);
        Assert.Contains("403 InvalidObjectState", document.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Contains("403 InvalidObjectState", document.GetProperty("move_error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ScheduledEvent_FileWhoseNotificationNeverCame_ScoredBySweep()
    {
        await using var function = await MotoFunction.CreateAsync(moto, sweepAfterMinutes: 0);
        await function.PutAsync("incoming/iris/lost.csv", TestModels.IrisCsv);
        await function.PutAsync("incoming/iris/done.csv", TestModels.IrisCsv);
        await function.InvokeAsync(function.SqsEvent(await function.ReceiveS3EventsAsync(2)));
        await function.DeleteOutgoingOfAsync("incoming/iris/lost.csv");
        var sample = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "functions-aws", "events", "scheduled-sweep.json"));

        var summary = Json(await function.InvokeAsync(sample));

        Assert.Equal((1, 1, true), (summary.GetProperty("scored").GetInt32(), summary.GetProperty("alreadyScored").GetInt32(), summary.GetProperty("complete").GetBoolean()));
        Assert.Equal(4, (await function.KeysAsync("outgoing/iris/")).Count);
    }

    [Fact]
    public async Task SqsEvent_BodyIsNotAnS3Event_ThatMessageFails()
    {
        await using var function = await MotoFunction.CreateAsync(moto);
        var sqsEvent = $$"""{"Records":[{"messageId":"m1","body":"hello","eventSource":"aws:sqs"},{"messageId":"m2","body":"{\"Event\":\"s3:TestEvent\"}","eventSource":"aws:sqs"}]}""";

        var response = await function.InvokeAsync(sqsEvent);

        Assert.Equal(["m1"], FailedIds(response));
    }

    [Fact]
    public async Task CreateOnlyPut_KeyExists_MotoAnswers412()
    {
        await using var function = await MotoFunction.CreateAsync(moto);
        await function.PutAsync("outgoing/x", "first");

        var taken = await Assert.ThrowsAsync<Amazon.S3.AmazonS3Exception>(() => function.S3.PutObjectAsync(
            new PutObjectRequest { BucketName = function.Bucket, Key = "outgoing/x", ContentBody = "second", IfNoneMatch = "*" }));

        Assert.Equal(HttpStatusCode.PreconditionFailed, taken.StatusCode);
        Assert.Equal("first", await function.ReadAsync("outgoing/x"));
    }

    private static string S3Event(string bucket, string encodedKey) =>
        "{\"Records\":[{\"eventVersion\":\"2.1\",\"eventSource\":\"aws:s3\",\"awsRegion\":\"us-east-1\",\"eventName\":\"ObjectCreated:Put\","
        + $"\"s3\":{{\"s3SchemaVersion\":\"1.0\",\"bucket\":{{\"name\":\"{bucket}\"}},\"object\":{{\"key\":\"{encodedKey}\",\"size\":10,\"eTag\":\"0123\"}}}}}}]}}";
}

using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Amazon.SQS.Model;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Functions.Aws.Events;
using Serverless.Inference.Batch.Sharding;

namespace Serverless.Functions.Aws.Tests.Events;

/// <summary>
/// Shard-queue records through the dispatcher, with a stand-in for the core's shard runner that answers scripted
/// outcomes, and moto's SQS for the dead-letter queue: which records are reported for redelivery, which are
/// dead-lettered with their reason, and how records are told apart from S3 notifications.
/// </summary>
public sealed class ShardDispatchTests(MotoServer moto) : IClassFixture<MotoServer>
{
    private static string[] FailedIds(ReadOnlyMemory<byte> response) =>
        [.. JsonDocument.Parse(response).RootElement.GetProperty("batchItemFailures").EnumerateArray().Select(f => f.GetProperty("itemIdentifier").GetString()!)];

    private sealed class ScriptedRunner(Func<string, ShardOutcome> answer) : IShardProcessor
    {
        public ConcurrentQueue<string> Bodies { get; } = new();

        public Task<ShardOutcome> ProcessAsync(string messageBody, DateTimeOffset? deadline, CancellationToken cancellationToken)
        {
            Bodies.Enqueue(messageBody);
            return Task.FromResult(answer(messageBody));
        }
    }

    private async Task<(MotoFunction Function, ScriptedRunner Runner)> CreateAsync(Func<string, ShardOutcome> answer, bool sharded = true)
    {
        var runner = new ScriptedRunner(answer);
        var function = await MotoFunction.CreateAsync(moto, uploadModel: false, sharded: sharded, configure: services => services.AddSingleton<IShardProcessor>(runner));
        return (function, runner);
    }

    private static Message Record(string id, string body) => new() { MessageId = id, Body = body, ReceiptHandle = "r-" + id, MD5OfBody = "0" };

    private static string Shard(int index) => new ShardMessage("outgoing/iris/big.csv.3f2a9c0d1e4b/plan.json", index).ToJson();

    [Fact]
    public async Task ShardQueueRecords_EachOutcome_OnlyRetriesAndFailuresReportedForRedelivery()
    {
        var (function, runner) = await CreateAsync(body => ShardMessage.Parse(body).Shard switch
        {
            0 => new ShardOutcome(ShardOutcomeKind.Scored),
            1 => new ShardOutcome(ShardOutcomeKind.AlreadyDone),
            2 => new ShardOutcome(ShardOutcomeKind.JobFailed, "shard 2 failed 3 times"),
            3 => new ShardOutcome(ShardOutcomeKind.WillRetry, "model busy"),
            _ => throw new InvalidOperationException("a bug in the runner"),
        });
        await using var _ = function;
        var records = Enumerable.Range(0, 5).Select(i => Record("m" + i, Shard(i)));

        var response = await function.InvokeAsync(function.SqsEvent(records, function.ShardQueueName));

        Assert.Equal(["m3", "m4"], FailedIds(response));
        Assert.Equal(Enumerable.Range(0, 5).Select(Shard), runner.Bodies);
        Assert.Empty(await function.ReceiveFromAsync(function.ShardDeadLetterQueueUrl!, 0, TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public async Task ShardQueueRecord_DeadLetterOutcome_SentToTheDeadLetterQueueWithItsReasonAndAcknowledged()
    {
        var (function, _) = await CreateAsync(_ => new ShardOutcome(ShardOutcomeKind.DeadLetter, "the message is not JSON: 'h' is an invalid start of a value"));
        await using var __ = function;

        var response = await function.InvokeAsync(function.SqsEvent([Record("bad-1", "hello")], function.ShardQueueName));

        Assert.Empty(FailedIds(response));
        var dead = Assert.Single(await function.ReceiveFromAsync(function.ShardDeadLetterQueueUrl!, 1, null, "All"));
        Assert.Equal("hello", dead.Body);
        Assert.Equal("the message is not JSON: 'h' is an invalid start of a value", dead.MessageAttributes[LambdaContract.DeadLetterReasonAttribute].StringValue);
        Assert.Equal("bad-1", dead.MessageAttributes[LambdaContract.DeadLetterSourceMessageAttribute].StringValue);
    }

    [Fact]
    public async Task ShardQueueRecord_DeadLetterQueueGone_ReportedForRedeliveryInstead()
    {
        var (function, _) = await CreateAsync(_ => new ShardOutcome(ShardOutcomeKind.DeadLetter, "unknown plan"));
        await using var __ = function;
        await function.Sqs.DeleteQueueAsync(function.ShardDeadLetterQueueUrl);

        var response = await function.InvokeAsync(function.SqsEvent([Record("bad-2", Shard(0))], function.ShardQueueName));

        Assert.Equal(["bad-2"], FailedIds(response));
    }

    [Fact]
    public async Task Route_TheQueueDecides_BodyShapeOnlyWithoutAnArn()
    {
        var (function, runner) = await CreateAsync(_ => new ShardOutcome(ShardOutcomeKind.Scored));
        await using var __ = function;
        var s3TestEvent = """{"Event":"s3:TestEvent"}""";

        // From the notification queue: a shard-shaped body is no S3 event, so it fails there and the runner never sees it.
        var fromNotifications = await function.InvokeAsync(function.SqsEvent([Record("n1", Shard(0))]));
        // From the shard queue: whatever the body, the runner decides (and would dead-letter it).
        var fromShards = await function.InvokeAsync(function.SqsEvent([Record("s1", s3TestEvent)], function.ShardQueueName));
        // No ARN (a hand-made event): the body's shape.
        var noArn = await function.InvokeAsync(function.SqsEvent([Record("x1", Shard(1)), Record("x2", s3TestEvent)], queueName: null));

        Assert.Equal(["n1"], FailedIds(fromNotifications));
        Assert.Empty(FailedIds(fromShards));
        Assert.Empty(FailedIds(noArn));
        Assert.Equal([s3TestEvent, Shard(1)], runner.Bodies);
    }

    [Fact]
    public async Task ShardMessage_FunctionWithoutAShardQueue_ReportedForRedeliveryNotScored()
    {
        var (function, runner) = await CreateAsync(_ => new ShardOutcome(ShardOutcomeKind.Scored), sharded: false);
        await using var __ = function;

        var response = await function.InvokeAsync(function.SqsEvent([Record("x1", Shard(0))], queueName: null));

        Assert.Equal(["x1"], FailedIds(response));
        Assert.Empty(runner.Bodies);
    }

    [Fact]
    public async Task SampleEvent_ShardQueueRecord_RoutedToTheShardRunnerByItsArn()
    {
        var sample = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "functions-aws", "events", "sqs-shard.json"));
        var record = JsonNode.Parse(sample)!["Records"]![0]!;
        var settings = FunctionSettings.From(name => name switch
        {
            LambdaContract.BucketVariable => "my-inference-bucket",
            LambdaContract.ShardQueueUrlVariable => "https://sqs.us-east-1.amazonaws.com/123456789012/ServerlessInference-ShardQueue",
            LambdaContract.ShardDeadLetterQueueUrlVariable => "https://sqs.us-east-1.amazonaws.com/123456789012/ServerlessInference-ShardDeadLetters",
            "AWS_REGION" => MotoServer.Region,
            _ => null,
        });
        await using var services = new ServiceCollection().AddLogging().AddAwsFunction(settings)
            .AddSingleton<IShardProcessor>(new ScriptedRunner(_ => new ShardOutcome(ShardOutcomeKind.Scored)))
            .BuildServiceProvider();
        var dispatcher = services.GetRequiredService<EventDispatcher>();
        var message = new SqsMessage(record["messageId"]!.GetValue<string>(), record["body"]!.GetValue<string>(), "aws:sqs", record["eventSourceARN"]!.GetValue<string>());

        Assert.Equal(SqsRoute.Shard, dispatcher.Route(message));
        Assert.Equal(3, ShardMessage.Parse(message.Body!).Shard);
        Assert.Equal(SqsRoute.S3Notification, dispatcher.Route(message with { EventSourceArn = "arn:aws:sqs:us-east-1:123456789012:ServerlessInference-BatchQueue" }));
    }
}

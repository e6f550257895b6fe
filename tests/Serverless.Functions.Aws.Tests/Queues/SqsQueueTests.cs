using Amazon.SQS;
using Amazon.SQS.Model;
using Microsoft.Extensions.Logging.Abstractions;
using Serverless.Functions.Aws.Queues;
using Serverless.Inference.Batch;
using Serverless.Inference.Batch.Sharding;

namespace Serverless.Functions.Aws.Tests.Queues;

/// <summary>The shard queue and the dead-letter queue against moto's SQS, a queue per test.</summary>
public sealed class SqsQueueTests : IClassFixture<MotoServer>, IDisposable
{
    private readonly AmazonSQSClient _sqs;
    private readonly SqsQueueAddress _queue;

    public SqsQueueTests(MotoServer moto)
    {
        _sqs = moto.CreateSqs();
        var url = _sqs.CreateQueueAsync("shards-" + Guid.NewGuid().ToString("N")[..12]).GetAwaiter().GetResult().QueueUrl;
        _queue = SqsQueueAddress.TryParse(url) ?? throw new InvalidOperationException($"moto gave an unexpected queue URL: {url}");
    }

    public void Dispose() => _sqs.Dispose();

    private static List<ShardMessage> Messages(int count) =>
        [.. Enumerable.Range(0, count).Select(i => new ShardMessage("outgoing/iris/big.csv.run/plan.json", i))];

    private async Task<List<Message>> DrainAsync(int expected, params string[] attributes)
    {
        var received = new List<Message>();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (received.Count < expected && DateTime.UtcNow < deadline)
        {
            var response = await _sqs.ReceiveMessageAsync(new ReceiveMessageRequest
            {
                QueueUrl = _queue.Url,
                MaxNumberOfMessages = 10,
                WaitTimeSeconds = 1,
                MessageAttributeNames = [.. attributes],
            });
            received.AddRange(response.Messages ?? []);
        }

        // Anything more would be a duplicate: one more short receive proves there is none.
        var more = await _sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = _queue.Url, MaxNumberOfMessages = 10, WaitTimeSeconds = 0 });
        received.AddRange(more.Messages ?? []);
        return received;
    }

    private SqsShardQueue Queue(IAmazonSQS client) => new(client, _queue, NullLogger<SqsShardQueue>.Instance);

    [Fact]
    public async Task Send_23Messages_ThreeBatchesOfAtMostTenEveryMessageOnTheQueueOnce()
    {
        var (client, script) = ScriptedSqs.Create(_sqs, (_, _) => null);

        await Queue(client).SendAsync(Messages(23), default);

        Assert.Equal([10, 10, 3], script.Requests.Select(r => r.Count));
        var received = await DrainAsync(23);
        Assert.Equal(Enumerable.Range(0, 23), received.Select(m => ShardMessage.Parse(m.Body)).Select(m => m.Shard).Order());
        Assert.All(received, m => Assert.Equal("outgoing/iris/big.csv.run/plan.json", ShardMessage.Parse(m.Body).Plan));
    }

    [Fact]
    public async Task Send_EntriesRefusedOnce_OnlyThoseSentAgainAndEachArrivesOnce()
    {
        var (client, script) = ScriptedSqs.Create(_sqs, (request, entry) =>
            request == 1 && entry.Id is "3" or "7" ? new BatchResultErrorEntry { Id = entry.Id, Code = "InternalError", Message = "try again", SenderFault = false } : null);

        await Queue(client).SendAsync(Messages(12), default);

        Assert.Equal([["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"], ["3", "7"], ["10", "11"]], script.Requests);
        var received = await DrainAsync(12);
        Assert.Equal(Enumerable.Range(0, 12), received.Select(m => ShardMessage.Parse(m.Body).Shard).Order());
    }

    [Fact]
    public async Task Send_EntryRefusedEveryTime_StoreFailureAfterTheBoundedAttempts()
    {
        var (client, script) = ScriptedSqs.Create(_sqs, (_, entry) =>
            entry.Id == "4" ? new BatchResultErrorEntry { Id = entry.Id, Code = "ServiceUnavailable", Message = "busy", SenderFault = false } : null);

        var error = await Assert.ThrowsAsync<BatchStoreException>(() => Queue(client).SendAsync(Messages(5), default));

        Assert.Equal(SqsShardQueue.MaxAttempts, script.Batches);
        Assert.Equal("could not queue 1 shard message(s) after 4 attempt(s): ServiceUnavailable busy", error.Message);
        Assert.DoesNotContain(_queue.Url, error.Message, StringComparison.Ordinal);
        Assert.Contains(_queue.Url, error.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Send_SenderFault_StoreFailureWithoutRetrying()
    {
        var (client, script) = ScriptedSqs.Create(_sqs, (_, entry) =>
            entry.Id == "0" ? new BatchResultErrorEntry { Id = entry.Id, Code = "InvalidParameterValue", Message = "refused", SenderFault = true } : null);

        await Assert.ThrowsAsync<BatchStoreException>(() => Queue(client).SendAsync(Messages(2), default));

        Assert.Equal(1, script.Batches);
    }

    [Fact]
    public async Task Send_QueueDoesNotExist_StoreFailureNamingTheSqsError()
    {
        var missing = SqsQueueAddress.TryParse(_queue.Url + "-missing")!;
        var queue = new SqsShardQueue(_sqs, missing, NullLogger<SqsShardQueue>.Instance);

        var error = await Assert.ThrowsAsync<BatchStoreException>(() => queue.SendAsync(Messages(1), default));

        Assert.StartsWith("could not queue shard messages: 400 ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Send_NoMessages_NoRequest()
    {
        var (client, script) = ScriptedSqs.Create(_sqs, (_, _) => null);

        await Queue(client).SendAsync([], default);

        Assert.Equal(0, script.Batches);
    }

    [Fact]
    public async Task DeadLetter_BodyKeptWithReasonAndSourceIdAttributes()
    {
        var deadLetters = new SqsDeadLetterQueue(_sqs, _queue);

        await deadLetters.SendAsync("{\"plan\":7}", "the message has no 'plan' (a string) or no 'shard' (an integer)", "msg-1", default);

        var message = Assert.Single(await DrainAsync(1, "All"));
        Assert.Equal("{\"plan\":7}", message.Body);
        Assert.Equal("the message has no 'plan' (a string) or no 'shard' (an integer)", message.MessageAttributes[LambdaContract.DeadLetterReasonAttribute].StringValue);
        Assert.Equal("msg-1", message.MessageAttributes[LambdaContract.DeadLetterSourceMessageAttribute].StringValue);
    }

    [Fact]
    public async Task DeadLetter_LongReason_CutToTheLimit()
    {
        var deadLetters = new SqsDeadLetterQueue(_sqs, _queue);

        await deadLetters.SendAsync("x", new string('r', 5000), null, default);

        var message = Assert.Single(await DrainAsync(1, "All"));
        Assert.Equal(SqsDeadLetterQueue.MaxReasonLength, message.MessageAttributes[LambdaContract.DeadLetterReasonAttribute].StringValue.Length);
        Assert.False(message.MessageAttributes.ContainsKey(LambdaContract.DeadLetterSourceMessageAttribute));
    }
}

public sealed class SqsQueueAddressTests
{
    [Theory]
    [InlineData("https://sqs.eu-west-1.amazonaws.com/123456789012/ServerlessInference-Shards", "123456789012", "ServerlessInference-Shards")]
    [InlineData("http://127.0.0.1:5000/123456789012/shards", "123456789012", "shards")]
    [InlineData("https://sqs.us-east-1.amazonaws.com/123456789012/jobs.fifo", "123456789012", "jobs.fifo")]
    public void TryParse_QueueUrl_AccountAndName(string url, string account, string name)
    {
        var address = SqsQueueAddress.TryParse(url);

        Assert.Equal((account, name), (address!.Account, address.Name));
    }

    [Theory]
    [InlineData("sqs.eu-west-1.amazonaws.com/123456789012/q")]
    [InlineData("ftp://sqs.eu-west-1.amazonaws.com/123456789012/q")]
    [InlineData("https://sqs.eu-west-1.amazonaws.com/q")]
    [InlineData("https://sqs.eu-west-1.amazonaws.com/12345/q")]
    [InlineData("https://sqs.eu-west-1.amazonaws.com/123456789012/q/extra")]
    [InlineData("https://sqs.eu-west-1.amazonaws.com/123456789012/bad name")]
    [InlineData("https://sqs.eu-west-1.amazonaws.com/123456789012/q?Action=SendMessage")]
    [InlineData("arn:aws:sqs:eu-west-1:123456789012:q")]
    public void TryParse_NotAQueueUrl_Null(string url)
    {
        Assert.Null(SqsQueueAddress.TryParse(url));
    }

    [Theory]
    [InlineData("arn:aws:sqs:eu-west-1:123456789012:shards", true)]
    [InlineData("arn:aws-cn:sqs:cn-north-1:123456789012:shards", true)]
    [InlineData("arn:aws:sqs:eu-west-1:123456789012:shards-dlq", false)]
    [InlineData("arn:aws:sqs:eu-west-1:210987654321:shards", false)]
    [InlineData("arn:aws:sns:eu-west-1:123456789012:shards", false)]
    [InlineData("shards", false)]
    [InlineData(null, false)]
    public void IsArn_SameAccountAndName_True(string? arn, bool expected)
    {
        var address = SqsQueueAddress.TryParse("https://sqs.eu-west-1.amazonaws.com/123456789012/shards")!;

        Assert.Equal(expected, address.IsArn(arn));
    }
}

using System.Text;
using System.Text.Json;
using Azure.Storage.Queues;
using Serverless.Functions.Azure.Storage;
using Serverless.Inference.Batch;
using Serverless.Inference.Batch.Sharding;

namespace Serverless.Functions.Azure.Tests.Queues;

/// <summary>The shard queue and the dead-letter queue against Azurite's queue service, read back raw as the trigger's host reads them.</summary>
public sealed class StorageQueueShardQueueTests(AzuriteWithQueues azurite) : IClassFixture<AzuriteWithQueues>
{
    private readonly string _queue = "shards-" + Guid.NewGuid().ToString("N")[..12];

    [Fact]
    public async Task Send_ManyShards_OneBase64MessageEachThatNeverExpires()
    {
        var shards = Enumerable.Range(0, 40).Select(i => new ShardMessage("outgoing/iris/big file.csv.r1/plan.json", i)).ToList();

        await new StorageQueueShardQueue(() => azurite.CreateQueueClient().GetQueueClient(_queue)).SendAsync(shards, default);

        var raw = await DrainRawAsync(_queue);
        Assert.Equal(40, raw.Count);
        // What the trigger does with the default messageEncoding (base64): decode, then hand the text over.
        var received = raw.Select(m => ShardMessage.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(m.Text)))).ToList();
        Assert.Equal(shards.OrderBy(s => s.Shard), received.OrderBy(s => s.Shard));
        Assert.All(raw, m => Assert.True(m.ExpiresOn > DateTimeOffset.UtcNow.AddYears(100), $"expires {m.ExpiresOn}"));
    }

    [Fact]
    public async Task Send_QueueServiceUnreachable_StoreFailureWithTheAddressOnlyInTheDetail()
    {
        var options = new QueueClientOptions();
        options.Retry.MaxRetries = 0;
        var unreachable = new QueueClient(new Uri("http://127.0.0.1:9/devstoreaccount1/batch-shards"), new global::Azure.Storage.StorageSharedKeyCredential("devstoreaccount1", Convert.ToBase64String(new byte[64])), options);

        var failure = await Assert.ThrowsAsync<BatchStoreException>(() => new StorageQueueShardQueue(() => unreachable).SendAsync([new ShardMessage("outgoing/a/b.csv.r/plan.json", 0)], default));

        Assert.Equal("could not queue 1 shard(s) on 'batch-shards': the queue service cannot be reached", failure.Message);
        Assert.Contains("127.0.0.1:9", failure.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Send_QueueServiceNotConfigured_StoreFailureNamingTheSetting()
    {
        var queue = new StorageQueueShardQueue(() => throw new InvalidOperationException("set 'InferenceStorage__queueServiceUri'"));

        var failure = await Assert.ThrowsAsync<BatchStoreException>(() => queue.SendAsync([new ShardMessage("outgoing/a/b.csv.r/plan.json", 0)], default));

        Assert.Contains("InferenceStorage__queueServiceUri", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeadLetter_Message_JsonEnvelopeWithTheReasonBase64LikeTheHostsPoisonMessages()
    {
        await new ShardDeadLetterQueue(azurite.CreateQueueClient().GetQueueClient(_queue)).SendAsync("the message is not JSON", "{not json", default);

        var raw = Assert.Single(await DrainRawAsync(_queue));
        using var envelope = JsonDocument.Parse(Convert.FromBase64String(raw.Text));
        Assert.Equal("the message is not JSON", envelope.RootElement.GetProperty("reason").GetString());
        Assert.Equal("{not json", envelope.RootElement.GetProperty("message").GetString());
        Assert.Equal(2, envelope.RootElement.EnumerateObject().Count());
    }

    [Fact]
    public async Task DeadLetter_HugeMessageOfControlCharacters_CutSoTheEnvelopeFitsAQueueMessage()
    {
        var huge = new string('\u0001', 48 * 1024);

        await new ShardDeadLetterQueue(azurite.CreateQueueClient().GetQueueClient(_queue)).SendAsync("too long", huge, default);

        var raw = Assert.Single(await DrainRawAsync(_queue));
        using var envelope = JsonDocument.Parse(Convert.FromBase64String(raw.Text));
        Assert.Equal(ShardDeadLetterQueue.MaxKept, envelope.RootElement.GetProperty("message").GetString()!.Length);
        Assert.Equal($"too long (the message, {huge.Length} characters long, is cut to its first {ShardDeadLetterQueue.MaxKept})", envelope.RootElement.GetProperty("reason").GetString());
    }

    private sealed record RawMessage(string Text, DateTimeOffset ExpiresOn);

    /// <summary>Every message, undecoded, removed from the queue.</summary>
    private async Task<List<RawMessage>> DrainRawAsync(string name)
    {
        var raw = new QueueClient(azurite.ConnectionString, name, new QueueClientOptions(QueueClientOptions.ServiceVersion.V2026_06_06) { MessageEncoding = QueueMessageEncoding.None });
        var messages = new List<RawMessage>();
        while (true)
        {
            var batch = (await raw.ReceiveMessagesAsync(maxMessages: 32)).Value;
            if (batch.Length == 0)
            {
                return messages;
            }

            foreach (var message in batch)
            {
                messages.Add(new RawMessage(message.Body.ToString(), message.ExpiresOn ?? DateTimeOffset.MinValue));
                await raw.DeleteMessageAsync(message.MessageId, message.PopReceipt);
            }
        }
    }
}

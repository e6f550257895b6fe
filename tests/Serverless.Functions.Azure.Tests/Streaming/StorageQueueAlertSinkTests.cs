using System.Text;
using System.Text.Json;
using Azure.Storage.Queues;
using Serverless.Functions.Azure.Streaming;
using Serverless.Inference.Batch;
using Serverless.Inference.Streaming;

namespace Serverless.Functions.Azure.Tests.Streaming;

/// <summary>The alert sink against Azurite's queue service, read back raw as a queue trigger's host reads it.</summary>
public sealed class StorageQueueAlertSinkTests(AzuriteWithQueues azurite) : IClassFixture<AzuriteWithQueues>
{
    private readonly string _queue = "alerts-" + Guid.NewGuid().ToString("N")[..12];

    [Fact]
    public async Task Send_Alerts_OneBase64JsonMessageEachWithEveryField()
    {
        var alerts = Enumerable.Range(0, 20).Select(i => Alert($"p{i}", """{"PredictedLabel.output":["virginica"]}""")).ToList();

        await new StorageQueueAlertSink(() => azurite.CreateQueueClient().GetQueueClient(_queue)).SendAsync(alerts, default);

        var messages = (await new QueueClient(azurite.ConnectionString, _queue, new QueueClientOptions(QueueClientOptions.ServiceVersion.V2026_06_06)).ReceiveMessagesAsync(32)).Value;
        var received = messages.Select(m => JsonDocument.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(m.MessageText))).RootElement).ToList();
        Assert.Equal(alerts.Select(a => a.Position).Order(StringComparer.Ordinal), received.Select(r => r.GetProperty("position").GetString()).Order(StringComparer.Ordinal));
        var first = received.Single(r => r.GetProperty("position").GetString() == "p0");
        Assert.Equal(
            ["id", "rule", "model", "version", "key", "position", "timestamp", "prediction"],
            first.EnumerateObject().Select(p => p.Name));
        Assert.Equal(("alert-p0", "iris", "1", "virginica", "machine-7"), (first.GetProperty("id").GetString(), first.GetProperty("model").GetString(), first.GetProperty("version").GetString(), first.GetProperty("rule").GetString(), first.GetProperty("key").GetString()));
        Assert.Equal("virginica", first.GetProperty("prediction").GetProperty("PredictedLabel.output")[0].GetString());
    }

    /// <summary>A queue message holds 64 KiB of base64: a prediction too big for it is left out, its size said.</summary>
    [Fact]
    public void Message_PredictionTooBigForAQueueMessage_LeftOutWithItsSize()
    {
        var embedding = $"[{string.Join(',', Enumerable.Repeat("0.123456789", 6000))}]";

        var message = AlertMessage.ToJson(Alert("big", embedding));

        Assert.True(Encoding.UTF8.GetByteCount(message) <= AlertMessage.MaxBytes);
        using var json = JsonDocument.Parse(message);
        Assert.False(json.RootElement.TryGetProperty("prediction", out _));
        Assert.Equal(embedding.Length, json.RootElement.GetProperty("prediction_omitted_bytes").GetInt32());
        Assert.Equal("alert-big", json.RootElement.GetProperty("id").GetString());
    }

    [Fact]
    public async Task Send_QueueServiceUnreachable_StoreFailureWithTheAddressOnlyInTheDetail()
    {
        var options = new QueueClientOptions();
        options.Retry.MaxRetries = 0;
        var unreachable = new QueueClient(new Uri("http://127.0.0.1:9/devstoreaccount1/stream-alerts"), new global::Azure.Storage.StorageSharedKeyCredential("devstoreaccount1", Convert.ToBase64String(new byte[64])), options);

        var failure = await Assert.ThrowsAsync<BatchStoreException>(() => new StorageQueueAlertSink(() => unreachable).SendAsync([Alert("x", "{}")], default));

        Assert.Equal("could not send 1 alert(s) on 'stream-alerts': the queue service cannot be reached", failure.Message);
        Assert.Contains("127.0.0.1:9", failure.Detail, StringComparison.Ordinal);
    }

    private static StreamAlert Alert(string position, string prediction) =>
        new($"alert-{position}", "iris", "1", "virginica", "machine-7", position, DateTimeOffset.Parse("2026-11-28T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture), JsonDocument.Parse(prediction).RootElement.Clone());
}

using System.Text.Json.Nodes;
using Amazon.S3;
using Amazon.S3.Model;
using Amazon.SQS;
using Amazon.SQS.Model;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Functions.Aws.Events;
using Serverless.Functions.Aws.Runtime;

namespace Serverless.Functions.Aws.Tests.Support;

/// <summary>
/// One bucket in moto with an S3 → SQS notification for incoming/ (as the stack provisions it), the iris model under
/// models/, and the function's services in process pointed at it.
/// </summary>
public sealed class MotoFunction : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private MotoFunction(MotoServer moto, string bucket, string queueUrl, ServiceProvider services, string? shardQueueUrl, string? shardDeadLetterQueueUrl)
    {
        Bucket = bucket;
        QueueUrl = queueUrl;
        ShardQueueUrl = shardQueueUrl;
        ShardDeadLetterQueueUrl = shardDeadLetterQueueUrl;
        Services = services;
        S3 = moto.CreateS3();
        Sqs = moto.CreateSqs();
        _services = services;
        Dispatcher = services.GetRequiredService<EventDispatcher>();
    }

    public string Bucket { get; }

    public string QueueUrl { get; }

    /// <summary>The shard queue, when the function was created with <c>sharded: true</c>.</summary>
    public string? ShardQueueUrl { get; }

    public string? ShardDeadLetterQueueUrl { get; }

    /// <summary>The notification queue's name (the bucket's), as its ARN ends.</summary>
    public string QueueName => Bucket;

    public string ShardQueueName => Bucket + "-shards";

    internal ServiceProvider Services { get; }

    public AmazonS3Client S3 { get; }

    public AmazonSQSClient Sqs { get; }

    internal EventDispatcher Dispatcher { get; }

    /// <param name="sharded">Also create a shard queue and its dead-letter queue and set the function's variables for them, as the batch function has.</param>
    /// <param name="configure">Changes to the function's services after the adapter's own (a stand-in for the core's shard runner, tighter options).</param>
    public static async Task<MotoFunction> CreateAsync(MotoServer moto, bool uploadModel = true, int? sweepAfterMinutes = null, bool sharded = false, Action<IServiceCollection>? configure = null)
    {
        var bucket = "inference-" + Guid.NewGuid().ToString("N")[..12];
        using var s3 = moto.CreateS3();
        using var sqs = moto.CreateSqs();
        await s3.PutBucketAsync(new PutBucketRequest { BucketName = bucket });
        var queueUrl = (await sqs.CreateQueueAsync(new CreateQueueRequest { QueueName = bucket })).QueueUrl;
        var queueArn = (await sqs.GetQueueAttributesAsync(new GetQueueAttributesRequest { QueueUrl = queueUrl, AttributeNames = ["QueueArn"] })).QueueARN;
        await s3.PutBucketNotificationAsync(new PutBucketNotificationRequest
        {
            BucketName = bucket,
            QueueConfigurations =
            [
                new QueueConfiguration
                {
                    Queue = queueArn,
                    Events = [EventType.ObjectCreatedAll],
                    Filter = new Filter { S3KeyFilter = new S3KeyFilter { FilterRules = [new FilterRule("prefix", LambdaContract.IncomingPrefix)] } },
                },
            ],
        });
        if (uploadModel)
        {
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = "models/iris/model.json", FilePath = TestModels.IrisManifest });
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = "models/iris/1/model.onnx", FilePath = TestModels.IrisOnnx });
        }

        string? shardQueueUrl = null;
        string? shardDeadLetterQueueUrl = null;
        if (sharded)
        {
            shardQueueUrl = (await sqs.CreateQueueAsync(new CreateQueueRequest { QueueName = bucket + "-shards" })).QueueUrl;
            shardDeadLetterQueueUrl = (await sqs.CreateQueueAsync(new CreateQueueRequest { QueueName = bucket + "-shards-dlq" })).QueueUrl;
        }

        var settings = FunctionSettings.From(name => name switch
        {
            LambdaContract.BucketVariable => bucket,
            "AWS_ENDPOINT_URL_S3" => moto.ServiceUrl,
            "AWS_ENDPOINT_URL_SQS" => moto.ServiceUrl,
            "AWS_REGION" => MotoServer.Region,
            LambdaContract.SweepAfterMinutesVariable => sweepAfterMinutes?.ToString(System.Globalization.CultureInfo.InvariantCulture),
            LambdaContract.ShardQueueUrlVariable => shardQueueUrl,
            LambdaContract.ShardDeadLetterQueueUrlVariable => shardDeadLetterQueueUrl,
            _ => null,
        });
        ServiceProvider Instance()
        {
            var services = new ServiceCollection().AddLogging().AddAwsFunction(settings);
            // The test's clients carry the test credentials; the function's own come from the default chain.
            services.AddSingleton<IAmazonS3>(_ => moto.CreateS3());
            if (sharded)
            {
                services.AddSingleton<IAmazonSQS>(_ => moto.CreateSqs());
            }

            configure?.Invoke(services);
            return services.BuildServiceProvider();
        }

        return new MotoFunction(moto, bucket, queueUrl, Instance(), shardQueueUrl, shardDeadLetterQueueUrl) { _newInstance = Instance };
    }

    private Func<ServiceProvider> _newInstance = null!;

    /// <summary>Another execution environment of the same function: its own services, model host and clients, the same bucket and queues.</summary>
    internal ServiceProvider NewInstance() => _newInstance();

    public Task PutAsync(string key, string content) =>
        S3.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = key, ContentBody = content });

    /// <summary>The S3 notifications moto delivered to the queue (the s3:TestEvent included), in order.</summary>
    public async Task<List<Message>> ReceiveAsync(int expected, TimeSpan? patience = null)
    {
        var messages = new List<Message>();
        var deadline = DateTime.UtcNow + (patience ?? TimeSpan.FromSeconds(20));
        while (messages.Count < expected && DateTime.UtcNow < deadline)
        {
            var received = await Sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = QueueUrl, MaxNumberOfMessages = 10, WaitTimeSeconds = 1 });
            messages.AddRange(received.Messages ?? []);
        }

        return messages;
    }

    /// <summary>Messages on any queue, with the message attributes named (or "All").</summary>
    public async Task<List<Message>> ReceiveFromAsync(string queueUrl, int expected, TimeSpan? patience = null, params string[] attributeNames)
    {
        var messages = new List<Message>();
        var deadline = DateTime.UtcNow + (patience ?? TimeSpan.FromSeconds(20));
        do
        {
            var received = await Sqs.ReceiveMessageAsync(new ReceiveMessageRequest
            {
                QueueUrl = queueUrl,
                MaxNumberOfMessages = 10,
                WaitTimeSeconds = 1,
                MessageAttributeNames = [.. attributeNames],
            });
            messages.AddRange(received.Messages ?? []);
        }
        while (messages.Count < expected && DateTime.UtcNow < deadline);

        return messages;
    }

    /// <summary>The S3 event notifications among the received messages (the test event left out).</summary>
    public async Task<List<Message>> ReceiveS3EventsAsync(int expected)
    {
        var events = new List<Message>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (events.Count < expected && DateTime.UtcNow < deadline)
        {
            events.AddRange((await ReceiveAsync(1, TimeSpan.FromSeconds(2))).Where(m => m.Body.Contains("\"Records\"", StringComparison.Ordinal)));
        }

        return events;
    }

    /// <summary>The event an SQS event source mapping hands to Lambda for these messages.</summary>
    /// <param name="queueName">The queue the messages came from (its ARN's last field): the notification queue unless said; null for a record without an ARN.</param>
    public string SqsEvent(IEnumerable<Message> messages, string? queueName = "") => new JsonObject
    {
        ["Records"] = new JsonArray([.. messages.Select(m => (JsonNode)new JsonObject
        {
            ["messageId"] = m.MessageId,
            ["receiptHandle"] = m.ReceiptHandle,
            ["body"] = m.Body,
            ["attributes"] = new JsonObject { ["ApproximateReceiveCount"] = "1" },
            ["messageAttributes"] = new JsonObject(),
            ["md5OfBody"] = m.MD5OfBody,
            ["eventSource"] = "aws:sqs",
            ["eventSourceARN"] = queueName is null ? null : $"arn:aws:sqs:us-east-1:123456789012:{(queueName.Length == 0 ? QueueName : queueName)}",
            ["awsRegion"] = "us-east-1",
        })]),
    }.ToJsonString();

    public Task<ReadOnlyMemory<byte>> InvokeAsync(string eventJson, CancellationToken cancellationToken = default) =>
        InvokeAsync(Dispatcher, eventJson, cancellationToken);

    /// <summary>An invocation of this or another instance's dispatcher, with a minute to its deadline.</summary>
    internal static async Task<ReadOnlyMemory<byte>> InvokeAsync(EventDispatcher dispatcher, string eventJson, CancellationToken cancellationToken = default)
    {
        var invocation = new LambdaInvocation(Guid.NewGuid().ToString(), DateTimeOffset.UtcNow.AddMinutes(1), null, null, null, null, Encoding.UTF8.GetBytes(eventJson));
        return await dispatcher.HandleAsync(invocation, cancellationToken);
    }

    /// <summary>Removes the results of an input, as if its event had never been delivered.</summary>
    public async Task DeleteOutgoingOfAsync(string incomingKey)
    {
        foreach (var key in await KeysAsync("outgoing/" + incomingKey["incoming/".Length..] + "."))
        {
            await S3.DeleteObjectAsync(Bucket, key);
        }
    }

    public async Task<List<string>> KeysAsync(string prefix)
    {
        var listed = await S3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = Bucket, Prefix = prefix });
        return [.. (listed.S3Objects ?? []).Select(o => o.Key).Order(StringComparer.Ordinal)];
    }

    public async Task<string> ReadAsync(string key)
    {
        using var response = await S3.GetObjectAsync(Bucket, key);
        using var reader = new StreamReader(response.ResponseStream);
        return await reader.ReadToEndAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _services.DisposeAsync();
        S3.Dispose();
        Sqs.Dispose();
    }
}

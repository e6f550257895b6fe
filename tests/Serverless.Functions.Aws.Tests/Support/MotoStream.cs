using System.Text.Json;
using System.Text.Json.Nodes;
using Amazon.S3;
using Amazon.S3.Model;
using Amazon.SQS;
using Amazon.SQS.Model;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Functions.Aws.Events;
using Serverless.Functions.Aws.Storage;
using Serverless.Inference.Batch;

namespace Serverless.Functions.Aws.Tests.Support;

/// <summary>
/// The stream function against moto: a bucket with the iris model under models/ (its manifest given a streaming section:
/// runs of two records, a "virginica" alert and a "versicolor-twice" alert on two in a row of one key), the alert queue,
/// and the function's services in process, as many instances (execution environments) as a test asks for.
/// </summary>
public sealed class MotoStream : IAsyncDisposable
{
    public const string Model = "iris";

    /// <summary>The rules of the test manifest, by name.</summary>
    public const string VirginicaRule = "virginica";

    public const string VersicolorTwiceRule = "versicolor-twice";

    private readonly MotoServer _moto;
    private readonly List<ServiceProvider> _instances = [];

    private MotoStream(MotoServer moto, string bucket, string alertQueueUrl)
    {
        _moto = moto;
        Bucket = bucket;
        AlertQueueUrl = alertQueueUrl;
        S3 = moto.CreateS3();
        Sqs = moto.CreateSqs();
    }

    public string Bucket { get; }

    public string AlertQueueUrl { get; }

    public AmazonS3Client S3 { get; }

    public AmazonSQSClient Sqs { get; }

    /// <summary>The variables a bootstrap process of the stream function reads.</summary>
    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string>(_moto.Environment)
    {
        ["AWS_ENDPOINT_URL_SQS"] = _moto.ServiceUrl,
        [LambdaContract.BucketVariable] = Bucket,
        [LambdaContract.StreamModelVariable] = Model,
        [LambdaContract.AlertQueueUrlVariable] = AlertQueueUrl,
    };

    public static async Task<MotoStream> CreateAsync(MotoServer moto, bool fifo = false)
    {
        ArgumentNullException.ThrowIfNull(moto);
        var bucket = "stream-" + Guid.NewGuid().ToString("N")[..12];
        using var s3 = moto.CreateS3();
        using var sqs = moto.CreateSqs();
        await s3.PutBucketAsync(new PutBucketRequest { BucketName = bucket });
        var manifest = JsonNode.Parse(await File.ReadAllTextAsync(TestModels.IrisManifest))!.AsObject();
        manifest["streaming"] = JsonNode.Parse($$"""
            {
              "max_records_per_run": 2,
              "alerts": [
                { "name": "{{VirginicaRule}}", "output": "PredictedLabel.output", "in": ["virginica"] },
                { "name": "{{VersicolorTwiceRule}}", "output": "PredictedLabel.output", "in": ["versicolor"], "consecutive": 2 }
              ]
            }
            """);
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = $"models/{Model}/model.json", ContentBody = manifest.ToJsonString() });
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = $"models/{Model}/1/model.onnx", FilePath = TestModels.IrisOnnx });
        var queue = new CreateQueueRequest { QueueName = bucket + "-alerts" + (fifo ? ".fifo" : "") };
        if (fifo)
        {
            queue.Attributes = new Dictionary<string, string> { ["FifoQueue"] = "true" };
        }

        var alertQueueUrl = (await sqs.CreateQueueAsync(queue)).QueueUrl;
        return new MotoStream(moto, bucket, alertQueueUrl);
    }

    /// <summary>A new execution environment: its own model host, processor and clients; the same bucket and queue.</summary>
    /// <param name="wrapStore">Puts something in front of the function's S3 store (a failure injected after k writes).</param>
    internal ServiceProvider NewInstance(Func<IBatchStore, IBatchStore>? wrapStore = null)
    {
        var settings = FunctionSettings.From(name => Environment.GetValueOrDefault(name));
        var services = new ServiceCollection().AddLogging().AddAwsFunction(settings);
        // The test's clients carry the test credentials; the function's own come from the default chain.
        services.AddSingleton<IAmazonS3>(_ => _moto.CreateS3());
        services.AddSingleton<IAmazonSQS>(_ => _moto.CreateSqs());
        if (wrapStore is not null)
        {
            services.AddSingleton(provider => wrapStore(new S3BatchStore(provider.GetRequiredService<IAmazonS3>(), Bucket)));
        }

        var provider = services.BuildServiceProvider();
        _instances.Add(provider);
        return provider;
    }

    /// <summary>One invocation of an instance's dispatcher with a Kinesis event; the partial batch response it answers.</summary>
    internal static async Task<List<string>> InvokeAsync(ServiceProvider instance, IEnumerable<KinesisItem> items)
    {
        var answer = await MotoFunction.InvokeAsync(instance.GetRequiredService<EventDispatcher>(), KinesisEvents.Event(items));
        using var document = JsonDocument.Parse(answer);
        return [.. document.RootElement.GetProperty("batchItemFailures").EnumerateArray().Select(failure => failure.GetProperty("itemIdentifier").GetString()!)];
    }

    public async Task<List<string>> KeysAsync(string prefix)
    {
        var listed = await S3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = Bucket, Prefix = prefix });
        return [.. (listed.S3Objects ?? []).Select(o => o.Key).Order(StringComparer.Ordinal)];
    }

    /// <summary>Every predictions line of the model, objects in key order (which is position order within one source).</summary>
    public async Task<List<JsonElement>> PredictionLinesAsync()
    {
        var lines = new List<JsonElement>();
        foreach (var key in await KeysAsync($"{LambdaContract.PredictionsPrefix}{Model}/"))
        {
            using var response = await S3.GetObjectAsync(Bucket, key);
            using var reader = new StreamReader(response.ResponseStream);
            while (await reader.ReadLineAsync() is { } line)
            {
                lines.Add(JsonDocument.Parse(line).RootElement.Clone());
            }
        }

        return lines;
    }

    /// <summary>Every alert message on the queue, with its attributes; one more empty receive proves there is no other.</summary>
    public async Task<List<Message>> DrainAlertsAsync(int expected)
    {
        var received = new List<Message>();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (received.Count < expected && DateTime.UtcNow < deadline)
        {
            var response = await Sqs.ReceiveMessageAsync(new ReceiveMessageRequest
            {
                QueueUrl = AlertQueueUrl,
                MaxNumberOfMessages = 10,
                WaitTimeSeconds = 1,
                MessageAttributeNames = ["All"],
                VisibilityTimeout = 600,
            });
            received.AddRange(response.Messages ?? []);
        }

        var more = await Sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = AlertQueueUrl, MaxNumberOfMessages = 10, WaitTimeSeconds = 1, VisibilityTimeout = 600 });
        received.AddRange(more.Messages ?? []);
        return received;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var instance in _instances)
        {
            await instance.DisposeAsync();
        }

        S3.Dispose();
        Sqs.Dispose();
    }
}

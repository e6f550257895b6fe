using Microsoft.Extensions.DependencyInjection;
using Serverless.Inference.Batch;
using Serverless.Inference.Batch.Sharding;

namespace Serverless.Functions.Aws.Tests.Hosting;

/// <summary>The shard queue and model folder variables: read, checked and refused with the variable named.</summary>
public sealed class FunctionSettingsTests
{
    private const string Queue = "https://sqs.eu-west-1.amazonaws.com/123456789012/ServerlessInference-ShardQueue";
    private const string DeadLetters = "https://sqs.eu-west-1.amazonaws.com/123456789012/ServerlessInference-ShardDeadLetters";

    private static FunctionSettings From(params (string Name, string Value)[] variables) =>
        FunctionSettings.From(name => variables.FirstOrDefault(v => v.Name == name).Value);

    [Fact]
    public void From_BothShardQueues_ParsedWithTheirAccountAndName()
    {
        var settings = From((LambdaContract.BucketVariable, "b"), (LambdaContract.ShardQueueUrlVariable, Queue), (LambdaContract.ShardDeadLetterQueueUrlVariable, DeadLetters), ("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:5000"));

        Assert.Equal((Queue, "123456789012", "ServerlessInference-ShardQueue"), (settings.ShardQueue!.Url, settings.ShardQueue.Account, settings.ShardQueue.Name));
        Assert.Equal("ServerlessInference-ShardDeadLetters", settings.ShardDeadLetterQueue!.Name);
        Assert.Equal("http://127.0.0.1:5000", settings.SqsServiceUrl);
    }

    [Fact]
    public void From_NoShardQueue_NoneOfIt()
    {
        var settings = From((LambdaContract.BucketVariable, "b"));

        Assert.Null(settings.ShardQueue);
        Assert.Null(settings.ShardDeadLetterQueue);
    }

    [Theory]
    [InlineData(Queue, null, "INFERENCE_SHARD_QUEUE_URL and INFERENCE_SHARD_DLQ_URL go together")]
    [InlineData(null, DeadLetters, "INFERENCE_SHARD_QUEUE_URL and INFERENCE_SHARD_DLQ_URL go together")]
    [InlineData("sqs/ServerlessInference-ShardQueue", DeadLetters, "INFERENCE_SHARD_QUEUE_URL must be an SQS queue URL")]
    [InlineData(Queue, "arn:aws:sqs:eu-west-1:123456789012:dlq", "INFERENCE_SHARD_DLQ_URL must be an SQS queue URL")]
    [InlineData(Queue, Queue, "INFERENCE_SHARD_DLQ_URL must name another queue")]
    public void From_WrongShardQueues_RefusedNamingTheVariable(string? queue, string? deadLetters, string expected)
    {
        var error = Assert.Throws<InvalidOperationException>(() => FunctionSettings.From(name => name switch
        {
            LambdaContract.BucketVariable => "b",
            LambdaContract.ShardQueueUrlVariable => queue,
            LambdaContract.ShardDeadLetterQueueUrlVariable => deadLetters,
            _ => null,
        }));

        Assert.StartsWith(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void From_ShardQueueWithoutBucket_Refused()
    {
        var error = Assert.Throws<InvalidOperationException>(() => From((LambdaContract.ShardQueueUrlVariable, Queue), (LambdaContract.ShardDeadLetterQueueUrlVariable, DeadLetters)));

        Assert.Contains(LambdaContract.BucketVariable, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RowsPerShard_Set_ReachesTheRunnersOptions()
    {
        var settings = From((LambdaContract.BucketVariable, "b"), (LambdaContract.RowsPerShardVariable, "20000"), ("AWS_REGION", "eu-west-1"));
        using var services = new ServiceCollection().AddLogging().AddAwsFunction(settings).BuildServiceProvider();

        var options = services.GetRequiredService<BatchRunnerOptions>();

        Assert.Equal(20000, settings.RowsPerShard);
        Assert.Equal(20000, options.Sharding.RowsPerShard);
    }

    [Theory]
    [InlineData("127.0.0.1:9001", false)]
    [InlineData(null, true)]
    public void DynamicBatching_OffUnderTheLambdaRuntime_OnWhenServingKestrel(string? runtimeApi, bool batching)
    {
        var settings = FunctionSettings.From(name => name switch
        {
            "AWS_LAMBDA_RUNTIME_API" => runtimeApi,
            LambdaContract.BucketVariable => "b",
            "AWS_REGION" => "eu-west-1",
            _ => null,
        });
        using var services = new ServiceCollection().AddLogging().AddAwsFunction(settings).BuildServiceProvider();

        Assert.Equal(batching, services.GetRequiredService<Serverless.Inference.Hosting.ModelHostOptions>().DynamicBatching);
    }

    [Fact]
    public void RowsPerShard_Unset_TheCoresDefault()
    {
        var settings = From((LambdaContract.BucketVariable, "b"), ("AWS_REGION", "eu-west-1"));
        using var services = new ServiceCollection().AddLogging().AddAwsFunction(settings).BuildServiceProvider();

        var options = services.GetRequiredService<BatchRunnerOptions>();

        Assert.Null(settings.RowsPerShard);
        Assert.Equal(new ShardingOptions().RowsPerShard, options.Sharding.RowsPerShard);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-5")]
    [InlineData("1e6")]
    [InlineData("100000001")]
    public void RowsPerShard_NotAPositiveWholeNumber_RefusedNamingTheVariable(string value)
    {
        var error = Assert.Throws<InvalidOperationException>(() => From((LambdaContract.RowsPerShardVariable, value)));

        Assert.StartsWith($"{LambdaContract.RowsPerShardVariable} must be a whole number of rows", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ModelDirectory_WithoutBucketTheWholeRepository_WithBucketThePackagedModels()
    {
        var local = From((FunctionSettings.ModelDirectoryVariable, "/var/task/models"));
        var packaged = From((FunctionSettings.ModelDirectoryVariable, "/var/task/models"), (LambdaContract.BucketVariable, "b"));

        Assert.Equal(("/var/task/models", (string?)null), (local.ModelDirectory, local.PackagedModels));
        Assert.Equal("/var/task/models", packaged.PackagedModels);
    }
}

namespace Serverless.Functions.Aws.Tests.Runtime;

/// <summary>The real bootstrap binary with its bucket in moto: models from S3, batch events from the real notification.</summary>
public sealed class BootstrapS3Tests(MotoServer moto) : IClassFixture<MotoServer>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Bootstrap_ModelInS3_AnswersHttpAndSqsEvents()
    {
        await using var function = await MotoFunction.CreateAsync(moto);
        await using var api = await RuntimeApiServer.StartAsync();
        var environment = new Dictionary<string, string>(moto.Environment)
        {
            ["INFERENCE_BUCKET"] = function.Bucket,
            ["INFERENCE_WARMUP_MODELS"] = "iris",
        };
        await using var bootstrap = BootstrapProcess.Start(api.Endpoint, environment);
        await function.PutAsync("incoming/iris/flowers.csv", TestModels.IrisCsv);
        var messages = await function.ReceiveAsync(2);

        var http = await api.InvokeAsync(HttpApiEvents.Infer(TestModels.IrisInferBody)).WaitAsync(Patience);
        var batch = await api.InvokeAsync(function.SqsEvent(messages)).WaitAsync(Patience);

        Assert.True(http.Kind == "response", bootstrap.Output);
        Assert.Equal(200, http.Json.GetProperty("statusCode").GetInt32());
        Assert.True(batch.Kind == "response", bootstrap.Output);
        Assert.Equal(0, batch.Json.GetProperty("batchItemFailures").GetArrayLength());
        Assert.Equal(2, (await function.KeysAsync("outgoing/iris/")).Count);
    }

    /// <summary>
    /// The batch function's path through the real binary (run it against the Native AOT publish with
    /// AWS_BOOTSTRAP_EXECUTABLE): a file above the 4 MiB threshold planned into three shards sent to moto's shard queue
    /// with SendMessageBatch, each shard delivered back through the Runtime API, one merged result; a malformed message
    /// sent to the shard dead-letter queue with its reason.
    /// </summary>
    [Fact]
    public async Task Bootstrap_ShardQueue_FansOutMergesAndDeadLetters()
    {
        const int Rows = 300_000;
        await using var function = await MotoFunction.CreateAsync(moto, sharded: true);
        await using var api = await RuntimeApiServer.StartAsync();
        var environment = new Dictionary<string, string>(moto.Environment)
        {
            ["AWS_ENDPOINT_URL_SQS"] = moto.ServiceUrl,
            ["INFERENCE_BUCKET"] = function.Bucket,
            [LambdaContract.ShardQueueUrlVariable] = function.ShardQueueUrl!,
            [LambdaContract.ShardDeadLetterQueueUrlVariable] = function.ShardDeadLetterQueueUrl!,
            // 100 of iris's micro-batches of 1,024 rows: 300,000 rows make three shards.
            [LambdaContract.RowsPerShardVariable] = "102400",
        };
        await using var bootstrap = BootstrapProcess.Start(api.Endpoint, environment);
        var csv = new StringBuilder(TestModels.IrisCsvHeader + "\n");
        for (var i = 0; i < Rows; i++)
        {
            csv.Append(System.Globalization.CultureInfo.InvariantCulture, $"{4.3 + i % 36 * 0.1:F1},{2.0 + i % 24 * 0.1:F1},{1.0 + i % 59 * 0.1:F1},{0.1 + i % 25 * 0.1:F1}\n");
        }

        await function.PutAsync("incoming/iris/big.csv", csv.ToString());
        var planned = await api.InvokeAsync(function.SqsEvent(await function.ReceiveS3EventsAsync(1))).WaitAsync(Patience);
        var shards = await function.ReceiveFromAsync(function.ShardQueueUrl!, 3);
        var answers = new List<PostedAnswer>();
        foreach (var shard in shards)
        {
            answers.Add(await api.InvokeAsync(function.SqsEvent([shard], function.ShardQueueName)).WaitAsync(Patience));
        }

        await function.Sqs.SendMessageAsync(function.ShardQueueUrl, "not a shard");
        var malformed = Assert.Single(await function.ReceiveFromAsync(function.ShardQueueUrl!, 1));
        var deadLettered = await api.InvokeAsync(function.SqsEvent([malformed], function.ShardQueueName)).WaitAsync(Patience);

        Assert.True(planned.Kind == "response", bootstrap.Output);
        Assert.Equal(0, planned.Json.GetProperty("batchItemFailures").GetArrayLength());
        Assert.Equal(3, shards.Count);
        Assert.All(answers, a => Assert.True(a.Kind == "response" && a.Json.GetProperty("batchItemFailures").GetArrayLength() == 0, bootstrap.Output));
        var outgoing = await function.KeysAsync("outgoing/");
        Assert.Equal(2, outgoing.Count);
        var summary = JsonDocument.Parse(await function.ReadAsync(Assert.Single(outgoing, k => k.EndsWith(".summary.json", StringComparison.Ordinal)))).RootElement;
        Assert.Equal(Rows, summary.GetProperty("rows_in").GetInt64());
        Assert.Equal(0, deadLettered.Json.GetProperty("batchItemFailures").GetArrayLength());
        var dead = Assert.Single(await function.ReceiveFromAsync(function.ShardDeadLetterQueueUrl!, 1, null, "All"));
        Assert.Equal("not a shard", dead.Body);
        Assert.StartsWith("the message is not JSON", dead.MessageAttributes[LambdaContract.DeadLetterReasonAttribute].StringValue, StringComparison.Ordinal);
    }
}

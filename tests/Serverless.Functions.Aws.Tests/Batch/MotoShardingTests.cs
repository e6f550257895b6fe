using System.Globalization;
using Amazon.SQS.Model;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serverless.Functions.Aws.Events;
using Serverless.Inference.Batch;
using Serverless.Inference.Batch.Sharding;

namespace Serverless.Functions.Aws.Tests.Batch;

/// <summary>
/// The fan-out end to end on moto: a file dropped in the bucket, its S3 notification through the notification queue to
/// the dispatcher, which plans it and sends one message per shard to the real shard queue; the shard queue drained as
/// Lambda's event source mapping would (one record per invocation, acknowledged messages deleted, reported ones left),
/// each record handed to the dispatcher; the merged result compared with an unsharded run of the same file.
/// </summary>
public sealed class MotoShardingTests(MotoServer moto) : IClassFixture<MotoServer>
{
    private const string Input = "incoming/iris/big.csv";

    /// <summary>16 rows a shard, in micro-batches of 8, in both runs: the rows go through the model in the same company.</summary>
    private static BatchRunnerOptions Options(bool sharded, int rowsPerShard = 16) => new()
    {
        WorkDirectory = Path.GetTempPath(),
        Scoring = new BatchOptions { MicroBatchSize = 8 },
        Sharding = sharded ? new ShardingOptions { MinBytes = 0, RowsPerShard = rowsPerShard } : new ShardingOptions(),
    };

    /// <summary>Iris rows whose measurements vary, so every shard's rows and predictions differ.</summary>
    private static string IrisFile(int rows)
    {
        var text = new StringBuilder(TestModels.IrisCsvHeader + "\n");
        for (var i = 0; i < rows; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"{4.3 + i % 36 * 0.1:F1},{2.0 + i % 24 * 0.1:F1},{1.0 + i % 59 * 0.1:F1},{0.1 + i % 25 * 0.1:F1}\n");
        }

        return text.ToString();
    }

    private static string[] FailedIds(ReadOnlyMemory<byte> response) =>
        [.. JsonDocument.Parse(response).RootElement.GetProperty("batchItemFailures").EnumerateArray().Select(f => f.GetProperty("itemIdentifier").GetString()!)];

    private Task<MotoFunction> ShardedAsync(CapturedLogs? logs = null, int rowsPerShard = 16, RecordingS3? s3 = null) =>
        MotoFunction.CreateAsync(moto, sharded: true, configure: services =>
        {
            services.AddSingleton(Options(sharded: true, rowsPerShard));
            if (logs is not null)
            {
                services.AddSingleton<ILoggerProvider>(logs);
            }

            if (s3 is not null)
            {
                services.AddSingleton<Amazon.S3.IAmazonS3>(s3.Client);
            }
        });

    /// <summary>The unsharded result and summary of the same file, on a function without a shard queue.</summary>
    private async Task<(byte[] Results, JsonElement Summary)> UnshardedAsync(string content)
    {
        await using var plain = await MotoFunction.CreateAsync(moto, configure: services => services.AddSingleton(Options(sharded: false)));
        await plain.PutAsync(Input, content);
        Assert.Empty(FailedIds(await plain.InvokeAsync(plain.SqsEvent(await plain.ReceiveS3EventsAsync(1)))));
        var outgoing = await plain.KeysAsync("outgoing/");
        Assert.Equal(2, outgoing.Count);
        return (await ReadBytesAsync(plain, outgoing.Single(k => k.EndsWith(".results.csv", StringComparison.Ordinal))),
            JsonDocument.Parse(await plain.ReadAsync(outgoing.Single(k => k.EndsWith(".summary.json", StringComparison.Ordinal)))).RootElement);
    }

    private static async Task<byte[]> ReadBytesAsync(MotoFunction function, string key)
    {
        using var response = await function.S3.GetObjectAsync(function.Bucket, key);
        using var copy = new MemoryStream();
        await response.ResponseStream.CopyToAsync(copy);
        return copy.ToArray();
    }

    /// <summary>Drops the file and delivers its notification: the planner's invocation. Returns the run folder.</summary>
    private static async Task<string> PlanAsync(MotoFunction function, string content)
    {
        await function.PutAsync(Input, content);
        var response = await function.InvokeAsync(function.SqsEvent(await function.ReceiveS3EventsAsync(1)));
        Assert.Empty(FailedIds(response));
        var plan = Assert.Single(await function.KeysAsync("outgoing/"), k => k.EndsWith("/" + ShardMessage.PlanFileName, StringComparison.Ordinal));
        return plan[..^ShardMessage.PlanFileName.Length];
    }

    /// <summary>Receives every message now on the shard queue (each one hidden for moto's default 30 s).</summary>
    private static async Task<List<Message>> ShardMessagesAsync(MotoFunction function, int expected) =>
        await function.ReceiveFromAsync(function.ShardQueueUrl!, expected, TimeSpan.FromSeconds(20));

    /// <summary>As the event source mapping does: one record per invocation, the message deleted unless it was reported.</summary>
    private static async Task<bool> DeliverAsync(MotoFunction function, EventDispatcher dispatcher, Message message)
    {
        var failed = FailedIds(await MotoFunction.InvokeAsync(dispatcher, function.SqsEvent([message], function.ShardQueueName)));
        if (failed.Length == 0)
        {
            await function.Sqs.DeleteMessageAsync(function.ShardQueueUrl, message.ReceiptHandle);
        }

        return failed.Length == 0;
    }

    private static async Task DrainAsync(MotoFunction function)
    {
        while ((await function.ReceiveFromAsync(function.ShardQueueUrl!, 1, TimeSpan.FromSeconds(2))) is { Count: > 0 } messages)
        {
            foreach (var message in messages)
            {
                Assert.True(await DeliverAsync(function, function.Dispatcher, message), $"shard message {message.Body} was reported for redelivery");
            }
        }
    }

    [Fact]
    public async Task Sharded_FileSeveralShardsBig_OneMergedResultIdenticalToTheUnshardedRunFolderCleanedUp()
    {
        var content = IrisFile(150);
        var (expected, expectedSummary) = await UnshardedAsync(content);
        await using var function = await ShardedAsync();

        var folder = await PlanAsync(function, content);
        var planned = await function.KeysAsync(folder);
        var messages = await ShardMessagesAsync(function, 10);
        foreach (var message in messages)
        {
            Assert.True(await DeliverAsync(function, function.Dispatcher, message));
        }

        await DrainAsync(function);

        // 150 rows in shards of 16: ten shards, ten messages, each naming the plan and its shard once.
        Assert.Contains(folder + "progress.json", planned);
        Assert.Equal(Enumerable.Range(0, 10), messages.Select(m => ShardMessage.Parse(m.Body)).Select(m => m.Shard).Order());
        Assert.All(messages, m => Assert.Equal(folder + ShardMessage.PlanFileName, ShardMessage.Parse(m.Body).Plan));
        var outgoing = await function.KeysAsync("outgoing/");
        Assert.Equal(2, outgoing.Count);
        var resultsKey = Assert.Single(outgoing, k => k.EndsWith(".results.csv", StringComparison.Ordinal));
        Assert.Equal(folder.TrimEnd('/') + ".results.csv", resultsKey);
        Assert.Equal(expected, await ReadBytesAsync(function, resultsKey));
        var summary = JsonDocument.Parse(await function.ReadAsync(Assert.Single(outgoing, k => k.EndsWith(".summary.json", StringComparison.Ordinal)))).RootElement;
        foreach (var field in new[] { "rows_in", "rows_ok", "rows_failed" })
        {
            Assert.Equal(expectedSummary.GetProperty(field).GetInt64(), summary.GetProperty(field).GetInt64());
        }

        Assert.Equal(150, summary.GetProperty("rows_in").GetInt64());
        Assert.Equal(resultsKey, summary.GetProperty("output").GetString());
        Assert.Equal(Input, summary.GetProperty("input").GetString());
        Assert.Empty(await function.KeysAsync("failed/"));
        Assert.Empty(await function.ReceiveFromAsync(function.ShardQueueUrl!, 0, TimeSpan.FromSeconds(1)));
        Assert.Empty(await function.ReceiveFromAsync(function.ShardDeadLetterQueueUrl!, 0, TimeSpan.FromSeconds(1)));
    }

    [Theory]
    [InlineData("hello", "the message is not JSON")]
    [InlineData("{\"plan\":\"outgoing/iris/nothing.csv.0123456789ab/plan.json\",\"shard\":0}", "no job: 'outgoing/iris/nothing.csv.0123456789ab/plan.json' does not exist")]
    [InlineData("{\"plan\":\"incoming/iris/x.csv\",\"shard\":0}", "'incoming/iris/x.csv' is not a plan key")]
    public async Task Sharded_MalformedMessageOnTheShardQueue_DeadLetteredWithItsReasonTheLoopGoesOn(string body, string reason)
    {
        await using var function = await ShardedAsync();
        await function.Sqs.SendMessageAsync(function.ShardQueueUrl, body);
        var message = Assert.Single(await ShardMessagesAsync(function, 1));

        var delivered = await DeliverAsync(function, function.Dispatcher, message);

        Assert.True(delivered);
        var dead = Assert.Single(await function.ReceiveFromAsync(function.ShardDeadLetterQueueUrl!, 1, null, "All"));
        Assert.Equal(body, dead.Body);
        Assert.StartsWith(reason, dead.MessageAttributes[LambdaContract.DeadLetterReasonAttribute].StringValue, StringComparison.Ordinal);
        Assert.Equal(message.MessageId, dead.MessageAttributes[LambdaContract.DeadLetterSourceMessageAttribute].StringValue);
        Assert.Empty(await function.KeysAsync("outgoing/"));
    }

    [Fact]
    public async Task Sharded_SameShardDeliveredTwiceAndToTwoInstancesAtOnce_OnePart()
    {
        await using var function = await ShardedAsync();
        await using var other = function.NewInstance();
        var folder = await PlanAsync(function, IrisFile(100));
        var message = (await ShardMessagesAsync(function, 7)).Single(m => ShardMessage.Parse(m.Body).Shard == 2);
        var part = folder + "part-00002.csv";

        var atOnce = await Task.WhenAll(
            MotoFunction.InvokeAsync(function.Dispatcher, function.SqsEvent([message], function.ShardQueueName)),
            MotoFunction.InvokeAsync(other.GetRequiredService<EventDispatcher>(), function.SqsEvent([message], function.ShardQueueName)));
        var stat = await function.S3.GetObjectMetadataAsync(function.Bucket, part);
        var again = await function.InvokeAsync(function.SqsEvent([message], function.ShardQueueName));

        Assert.All([.. atOnce, again], response => Assert.Empty(FailedIds(response)));
        Assert.Equal([part], (await function.KeysAsync(folder)).Where(k => k.Contains("/part-", StringComparison.Ordinal) && k.EndsWith(".csv", StringComparison.Ordinal)));
        Assert.Equal(stat.ETag, (await function.S3.GetObjectMetadataAsync(function.Bucket, part)).ETag);
        // Six shards are still missing: nothing is merged yet.
        Assert.DoesNotContain(await function.KeysAsync("outgoing/"), k => k.EndsWith(".results.csv", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Sharded_LastTwoShardsOnTwoInstancesAtOnce_OneMergeOneResult()
    {
        var content = IrisFile(100);
        var (expected, _) = await UnshardedAsync(content);
        var logs = new CapturedLogs();
        await using var function = await ShardedAsync(logs);
        await using var other = function.NewInstance();
        var folder = await PlanAsync(function, content);
        var messages = (await ShardMessagesAsync(function, 7)).OrderBy(m => ShardMessage.Parse(m.Body).Shard).ToList();
        Assert.Equal(7, messages.Count);
        foreach (var message in messages.SkipLast(2))
        {
            Assert.True(await DeliverAsync(function, function.Dispatcher, message));
        }

        var lastTwo = await Task.WhenAll(
            DeliverAsync(function, function.Dispatcher, messages[^2]),
            DeliverAsync(function, other.GetRequiredService<EventDispatcher>(), messages[^1]));

        Assert.Equal([true, true], lastTwo);
        Assert.Equal(1, logs.Count("Merged 7 shards of incoming/iris/big.csv"));
        var outgoing = await function.KeysAsync("outgoing/");
        Assert.Equal(2, outgoing.Count);
        Assert.Equal(expected, await ReadBytesAsync(function, folder.TrimEnd('/') + ".results.csv"));
        Assert.Empty(await function.KeysAsync(folder));
    }

    [Fact]
    public async Task Sharded_LateDeliveryAfterTheMerge_AcknowledgedNothingWritten()
    {
        await using var function = await ShardedAsync();
        var folder = await PlanAsync(function, IrisFile(40));
        var messages = await ShardMessagesAsync(function, 3);
        foreach (var message in messages)
        {
            Assert.True(await DeliverAsync(function, function.Dispatcher, message));
        }

        var before = await function.KeysAsync("outgoing/");
        var late = await function.InvokeAsync(function.SqsEvent([messages[0]], function.ShardQueueName));

        Assert.Empty(FailedIds(late));
        Assert.Equal(before, await function.KeysAsync("outgoing/"));
        Assert.Empty(await function.KeysAsync(folder));
        Assert.Empty(await function.ReceiveFromAsync(function.ShardDeadLetterQueueUrl!, 0, TimeSpan.FromSeconds(1)));
    }

    /// <summary>
    /// Parts above S3's 5 MiB minimum part size: the merge copies them server-side (UploadPartCopy) into one multipart
    /// upload; no part is downloaded by the merging invocation. Prints the figures of the run.
    /// </summary>
    [Fact]
    public async Task Sharded_PartsAboveFiveMiB_MergedServerSideWithUploadPartCopy()
    {
        const int Rows = 300_000;
        var content = IrisFile(Rows);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (expected, _) = await UnshardedAsync(content);
        var unsharded = clock.Elapsed;
        using var recorded = new RecordingS3(moto);
        await using var function = await ShardedAsync(rowsPerShard: Rows / 3, s3: recorded);

        clock.Restart();
        var folder = await PlanAsync(function, content);
        var messages = (await ShardMessagesAsync(function, 3)).OrderBy(m => ShardMessage.Parse(m.Body).Shard).ToList();
        foreach (var message in messages.SkipLast(1))
        {
            Assert.True(await DeliverAsync(function, function.Dispatcher, message));
        }

        var parts = (await function.KeysAsync(folder)).Where(k => k.EndsWith(".csv", StringComparison.Ordinal)).ToList();
        var partSizes = await Task.WhenAll(parts.Select(async k => (await function.S3.GetObjectMetadataAsync(function.Bucket, k)).ContentLength));
        recorded.Clear();
        Assert.True(await DeliverAsync(function, function.Dispatcher, messages[^1]));
        var sharded = clock.Elapsed;

        var calls = recorded.Calls;
        Assert.Equal(3, messages.Count);
        Assert.All(partSizes, size => Assert.True(size > 5L << 20, $"a part of {size} bytes is too small to show a server-side copy"));
        Assert.Equal(3, calls.Count(c => c.IsUploadPartCopy));
        Assert.Single(calls, c => c.IsCompleteMultipartUpload);
        // The last shard reads its own input range; no part is read back for the merge.
        Assert.DoesNotContain(calls, c => c.IsGetObject && c.Path.Contains("/part-", StringComparison.Ordinal) && c.Path.EndsWith(".csv", StringComparison.Ordinal));
        Assert.Equal(expected, await ReadBytesAsync(function, folder.TrimEnd('/') + ".results.csv"));
        Assert.Empty(await function.KeysAsync(folder));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"moto, {Rows} iris rows ({content.Length} bytes in, {expected.Length} bytes out): unsharded {unsharded.TotalSeconds:F1} s; 3 shards in sequence, plan to merge {sharded.TotalSeconds:F1} s; parts {string.Join(", ", partSizes)} bytes"));
    }
}

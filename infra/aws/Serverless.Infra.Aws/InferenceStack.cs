using System.Globalization;
using Amazon.CDK;
using Amazon.CDK.AWS.Lambda.EventSources;
using Constructs;
using Serverless.Functions.Aws;
using Serverless.Infra.Aws.Constructs;

namespace Serverless.Infra.Aws;

/// <summary>
/// One stack, one bootstrap deployed twice. The HTTP function serves the API with a short timeout. The batch function
/// takes the bucket's incoming/ notifications (through a queue), plans a big file into shards and sends one message per
/// shard to the shard queue, scores the shards it receives from there, and runs the scheduled sweep of incoming/.
/// With a stream model set, a third deployment scores a Kinesis data stream (<see cref="StreamScoring"/>).
/// </summary>
internal sealed class InferenceStack : Stack
{
    public InferenceStack(Construct scope, string id, InferenceStackSettings settings, IStackProps? props = null)
        : base(scope, id, ValidatedProps(settings, props))
    {
        var storage = new InferenceBucket(this, "Storage");
        var batchQueue = new BatchQueue(this, "BatchQueue", settings.BatchTimeoutSeconds, settings.MaxReceiveCount);
        var shardQueue = new BatchQueue(this, "ShardQueue", settings.BatchTimeoutSeconds, settings.ShardMaxReceiveCount);

        var http = new InferenceFunction(this, "Inference", settings, new InferenceFunctionRole(
            "ONNX inference: the Open Inference Protocol over HTTP.",
            settings.MemorySizeMiB,
            settings.TimeoutSeconds,
            settings.ReservedConcurrency,
            settings.ProvisionedConcurrency,
            new Dictionary<string, string>()), storage.Bucket.BucketName);
        var batchEnvironment = new Dictionary<string, string>
        {
            [LambdaContract.SweepAfterMinutesVariable] = settings.SweepAfterMinutes.ToString(CultureInfo.InvariantCulture),
            [LambdaContract.ShardQueueUrlVariable] = shardQueue.Queue.QueueUrl,
            [LambdaContract.ShardDeadLetterQueueUrlVariable] = shardQueue.DeadLetterQueue.QueueUrl,
        };
        if (settings.RowsPerShard > 0)
        {
            batchEnvironment[LambdaContract.RowsPerShardVariable] = settings.RowsPerShard.ToString(CultureInfo.InvariantCulture);
        }

        var batch = new InferenceFunction(this, "Batch", settings, new InferenceFunctionRole(
            "ONNX inference: batch scoring of incoming/ objects, planned into shards and fanned out over the shard queue.",
            settings.BatchMemorySizeMiB,
            settings.BatchTimeoutSeconds,
            settings.BatchReservedConcurrency,
            ProvisionedConcurrency: 0,
            batchEnvironment), storage.Bucket.BucketName);
        var api = new InferenceHttpApi(this, "Http", http.Invocable, settings);

        storage.NotifyIncoming(batchQueue.Queue);
        storage.GrantModelReads(http.Function);
        storage.GrantBatch(batch.Function);
        storage.GrantCaptureWrites(http.Function);
        storage.GrantCaptureWrites(batch.Function);
        // The planner sends the shards; a worker sends a malformed shard message to the dead-letter queue with its reason.
        shardQueue.Queue.GrantSendMessages(batch.Function);
        shardQueue.DeadLetterQueue.GrantSendMessages(batch.Function);

        // Both answer with batchItemFailures: only the failed messages come back. Their maximum concurrencies together
        // stay within the batch function's reserved concurrency (checked), so no poller is throttled.
        batch.Function.AddEventSource(new SqsEventSource(batchQueue.Queue, new SqsEventSourceProps
        {
            BatchSize = settings.BatchSize,
            ReportBatchItemFailures = true,
            MaxConcurrency = settings.SqsMaxConcurrency,
        }));
        batch.Function.AddEventSource(new SqsEventSource(shardQueue.Queue, new SqsEventSourceProps
        {
            BatchSize = settings.ShardBatchSize,
            ReportBatchItemFailures = true,
            MaxConcurrency = settings.ShardMaxConcurrency,
        }));
        new IncomingSweep(this, "Sweep", batch.Function, settings.SweepIntervalMinutes);
        if (settings.UsesStream)
        {
            new StreamScoring(this, "Stream", settings, storage);
        }


        new CfnOutput(this, "ApiUrl", new CfnOutputProps { Value = $"{api.Api.ApiEndpoint}/{InferenceHttpApi.RoutePrefix}" });
        new CfnOutput(this, "BucketName", new CfnOutputProps { Value = storage.Bucket.BucketName });
        new CfnOutput(this, "FunctionName", new CfnOutputProps { Value = http.Function.FunctionName });
        new CfnOutput(this, "BatchFunctionName", new CfnOutputProps { Value = batch.Function.FunctionName });
        new CfnOutput(this, "DeadLetterQueueUrl", new CfnOutputProps { Value = batchQueue.DeadLetterQueue.QueueUrl });
        new CfnOutput(this, "ShardDeadLetterQueueUrl", new CfnOutputProps { Value = shardQueue.DeadLetterQueue.QueueUrl });
    }

    // Runs before the base constructor: a wrong setting creates nothing.
    private static IStackProps? ValidatedProps(InferenceStackSettings settings, IStackProps? props)
    {
        settings.Validate();
        return props;
    }
}

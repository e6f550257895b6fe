using Amazon.CDK;
using Amazon.CDK.AWS.Lambda;
using Amazon.CDK.AWS.Lambda.EventSources;
using Constructs;
using Serverless.Functions.Aws;
using LambdaFunction = Amazon.CDK.AWS.Lambda.Function;

namespace Serverless.Infra.Aws.Constructs;

/// <summary>
/// Streaming prediction: a Kinesis stream, the bootstrap deployed a third time to score it, the alert queue and the
/// queue for batches Lambda gives up on. A deployment of its own rather than the batch function: a retried Kinesis
/// batch holds its whole shard, so this function keeps a short timeout and its own reserved concurrency (one
/// invocation per shard), and its role reaches only predictions/ and stream-state/, not the batch prefixes.
/// </summary>
internal sealed class StreamScoring : Construct
{
    public StreamScoring(Construct scope, string id, InferenceStackSettings settings, InferenceBucket storage) : base(scope, id)
    {
        Records = new RecordStream(this, "Kinesis", settings.StreamShardCount, settings.StreamRetentionHours);
        Alerts = new AlertQueue(this, "AlertQueue");

        var environment = new Dictionary<string, string>
        {
            [LambdaContract.StreamModelVariable] = settings.StreamModel,
            [LambdaContract.AlertQueueUrlVariable] = Alerts.Queue.QueueUrl,
        };
        if (!string.IsNullOrEmpty(settings.StreamModelVersion))
        {
            environment[LambdaContract.StreamModelVersionVariable] = settings.StreamModelVersion;
        }

        Function = new InferenceFunction(this, "Function", settings, new InferenceFunctionRole(
            "ONNX inference: streaming prediction over a Kinesis data stream, with alerts to an SQS queue.",
            settings.StreamMemorySizeMiB,
            settings.StreamTimeoutSeconds,
            settings.StreamReservedConcurrency,
            ProvisionedConcurrency: 0,
            environment), storage.Bucket.BucketName).Function;

        storage.GrantStream(Function);
        Alerts.Queue.GrantSendMessages(Function);

        // The event source grants reading this stream (and sending to the failed-batches queue) to the function's role.
        Function.AddEventSource(new KinesisEventSource(Records.Stream, new KinesisEventSourceProps
        {
            StartingPosition = StartingPosition.TRIM_HORIZON,
            BatchSize = settings.StreamBatchSize,
            MaxBatchingWindow = Duration.Seconds(settings.StreamMaxBatchingWindowSeconds),
            // The function names the first record it did not commit; Lambda retries from there, halving the batch each
            // time, so a record that keeps failing ends up alone, and goes to the failed-batches queue after the retries.
            ReportBatchItemFailures = true,
            BisectBatchOnError = true,
            RetryAttempts = settings.StreamRetryAttempts,
            MaxRecordAge = Duration.Seconds(settings.StreamMaxRecordAgeSeconds),
            // One invocation per shard at a time: records of one partition key are scored in the order they arrived.
            ParallelizationFactor = 1,
            OnFailure = new SqsDlq(Records.FailedBatches),
        }));

        new CfnOutput(this, "StreamName", new CfnOutputProps { Value = Records.Stream.StreamName });
        new CfnOutput(this, "StreamFunctionName", new CfnOutputProps { Value = Function.FunctionName });
        new CfnOutput(this, "AlertQueueUrl", new CfnOutputProps { Value = Alerts.Queue.QueueUrl });
        new CfnOutput(this, "FailedBatchesQueueUrl", new CfnOutputProps { Value = Records.FailedBatches.QueueUrl });
    }

    public RecordStream Records { get; }

    public AlertQueue Alerts { get; }

    public LambdaFunction Function { get; }
}

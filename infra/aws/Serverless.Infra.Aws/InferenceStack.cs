using Amazon.CDK;
using Amazon.CDK.AWS.Lambda.EventSources;
using Constructs;
using Serverless.Infra.Aws.Constructs;

namespace Serverless.Infra.Aws;

/// <summary>One stack: bucket → (incoming/ events) → queue → function ← HTTP API, and a schedule that sweeps incoming/.</summary>
internal sealed class InferenceStack : Stack
{
    public InferenceStack(Construct scope, string id, InferenceStackSettings settings, IStackProps? props = null)
        : base(scope, id, ValidatedProps(settings, props))
    {
        var storage = new InferenceBucket(this, "Storage");
        var batchQueue = new BatchQueue(this, "BatchQueue", settings.TimeoutSeconds, settings.MaxReceiveCount);
        var function = new InferenceFunction(this, "Inference", settings, storage.Bucket);
        var api = new InferenceHttpApi(this, "Http", function.Invocable, settings);

        storage.NotifyIncoming(batchQueue.Queue);
        storage.GrantScoring(function.Function);
        function.Invocable.AddEventSource(new SqsEventSource(batchQueue.Queue, new SqsEventSourceProps
        {
            BatchSize = settings.BatchSize,
            // The adapter answers with batchItemFailures: only the failed messages come back.
            ReportBatchItemFailures = true,
            // A burst of drops takes at most this many environments, leaving the rest of the reserved ones to the API.
            MaxConcurrency = settings.SqsMaxConcurrency,
        }));
        new IncomingSweep(this, "Sweep", function.Invocable, settings.SweepIntervalMinutes);

        new CfnOutput(this, "ApiUrl", new CfnOutputProps { Value = $"{api.Api.ApiEndpoint}/{InferenceHttpApi.RoutePrefix}" });
        new CfnOutput(this, "BucketName", new CfnOutputProps { Value = storage.Bucket.BucketName });
        new CfnOutput(this, "FunctionName", new CfnOutputProps { Value = function.Function.FunctionName });
        new CfnOutput(this, "DeadLetterQueueUrl", new CfnOutputProps { Value = batchQueue.DeadLetterQueue.QueueUrl });
    }

    // Runs before the base constructor: a wrong setting creates nothing.
    private static IStackProps? ValidatedProps(InferenceStackSettings settings, IStackProps? props)
    {
        settings.Validate();
        return props;
    }
}

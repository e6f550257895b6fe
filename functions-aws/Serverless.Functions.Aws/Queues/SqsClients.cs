using Amazon;
using Amazon.Runtime;
using Amazon.SQS;
using Serverless.Inference.Batch;

namespace Serverless.Functions.Aws.Queues;

internal static class SqsClients
{
    /// <summary>
    /// A client for the function's region, or for an SQS-compatible endpoint (moto, LocalStack) when one is set.
    /// Credentials come from the default chain: the function's IAM role on Lambda.
    /// </summary>
    public static AmazonSQSClient Create(FunctionSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var config = new AmazonSQSConfig();
        if (settings.SqsServiceUrl is { } serviceUrl)
        {
            config.ServiceURL = serviceUrl;
            if (settings.Region is { } region)
            {
                config.AuthenticationRegion = region;
            }
        }
        else if (settings.Region is { } region)
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(region);
        }

        return new AmazonSQSClient(config);
    }

    /// <summary>
    /// An SDK failure as the batch layer's exception, so the runner counts it like a store failure; the queue's URL
    /// (an account id) goes to the log-only detail. Cancellation through the token passes.
    /// </summary>
    public static BatchStoreException? Failure(string what, SqsQueueAddress queue, Exception e, CancellationToken cancellationToken) => e switch
    {
        BatchStoreException => null,
        OperationCanceledException when cancellationToken.IsCancellationRequested => null,
        AmazonSQSException sqsError => new BatchStoreException($"could not {what}: {(int)sqsError.StatusCode} {sqsError.ErrorCode}", e) { Detail = $"{queue.Url}: {e.Message}" },
        AmazonServiceException or AmazonClientException or HttpRequestException or IOException or OperationCanceledException =>
            new BatchStoreException($"could not {what}: SQS cannot be reached", e) { Detail = $"{queue.Url}: {e.Message}" },
        _ => null,
    };
}

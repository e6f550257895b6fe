using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Serverless.Functions.Azure.Http;
using Serverless.Functions.Azure.Streaming;
using Serverless.Inference.Batch;
using Serverless.Inference.Hosting;
using Serverless.Inference.Streaming;

namespace Serverless.Functions.Azure.Hosting;

public static class StreamingServiceCollectionExtensions
{
    /// <summary>
    /// The Event Grid stream webhook (<see cref="StreamFunctions"/>): the core's stream processor over the blob store
    /// (predictions and per-key state in their containers), alerts on the <see cref="AzureContract.StreamAlertsQueue"/>
    /// queue, and the ledger of committed event ids. Needs <see cref="AzureInferenceServiceCollectionExtensions.AddBlobBatchScoring"/>
    /// (the blob store) first.
    /// </summary>
    public static IServiceCollection AddEventGridStreaming(this IServiceCollection services, IConfiguration configuration)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(StreamWebhookSettings.From(configuration));
        services.AddSingleton<IAlertSink>(provider =>
            new StorageQueueAlertSink(() => provider.GetRequiredService<InferenceStorage>().Queues.GetQueueClient(AzureContract.StreamAlertsQueue)));
        services.AddSingleton(provider => new DeliveryLedger(provider.GetRequiredService<IBatchStore>()));
        services.AddSingleton(provider => new StreamProcessor(
            provider.GetRequiredService<ModelHost>(),
            provider.GetRequiredService<IBatchStore>(),
            provider.GetRequiredService<IAlertSink>(),
            provider.GetRequiredService<ILogger<StreamProcessor>>(),
            provider.GetRequiredService<TimeProvider>()));
        return services;
    }
}

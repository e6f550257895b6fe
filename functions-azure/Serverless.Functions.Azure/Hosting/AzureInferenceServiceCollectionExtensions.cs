using Microsoft.Extensions.Azure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Serverless.Functions.Azure.Batch;
using Serverless.Functions.Azure.Storage;
using Serverless.Inference;
using Serverless.Inference.Batch;
using Serverless.Inference.Batch.Sharding;
using Serverless.Inference.Hosting;
using Serverless.Inference.Monitoring;

namespace Serverless.Functions.Azure.Hosting;

public static class AzureInferenceServiceCollectionExtensions
{
    /// <summary>
    /// The storage account behind <see cref="AzureContract.StorageConnection"/>, resolved from the same settings the
    /// blob trigger reads (connection string locally, service URI + managed identity in Azure).
    /// </summary>
    public static IServiceCollection AddInferenceStorage(this IServiceCollection services)
    {
        services.AddAzureClientsCore();
        services.AddSingleton(provider => new InferenceStorage(StorageConnection.Resolve(
            provider.GetRequiredService<IConfiguration>(),
            provider.GetRequiredService<AzureComponentFactory>(),
            AzureContract.StorageConnection)));
        return services;
    }

    /// <summary>
    /// The process-wide model host over the <c>models</c> container and the Open Inference Protocol handler.
    /// Singletons: every invocation an instance serves finds the sessions the first one loaded.
    /// </summary>
    public static IServiceCollection AddBlobInference(this IServiceCollection services, IConfiguration configuration)
    {
        var settings = InferenceSettings.From(configuration);
        services.AddSingleton(settings);
        // Sampled requests of models with monitoring.capture, into the capture container; written by a background loop
        // and when the host stops. Without a storage connection the app serves nothing (readiness says which setting is
        // missing), and capture has nowhere to go.
        if (StorageConnection.IsConfigured(configuration, AzureContract.StorageConnection))
        {
            services.AddSingleton(provider =>
            {
                var storage = provider.GetRequiredService<InferenceStorage>();
                return new PredictionCapture(
                    new BlobBatchStore(storage.Service, storage.CopySource),
                    new CaptureOptions(),
                    provider.GetService<ILogger<PredictionCapture>>(),
                    provider.GetService<TimeProvider>());
            });
        }

        return services.AddInference(
            provider => new BlobModelStore(() => provider.GetRequiredService<InferenceStorage>().Models),
            host =>
            {
                host.RefreshInterval = settings.RefreshInterval;
                if (settings.CacheDirectory is { } cache)
                {
                    host.CacheDirectory = cache;
                }
            });
    }

    /// <summary>
    /// The batch contract over the incoming/outgoing/failed containers, for <see cref="ScoreBlob"/> and
    /// <see cref="SweepIncoming"/> (which plan big files onto the shard queue) and <see cref="ScoreShard"/> (which
    /// scores the shards and merges them). Singletons, as on AWS: the store keeps no state between calls.
    /// </summary>
    public static IServiceCollection AddBlobBatchScoring(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(provider =>
        {
            var settings = provider.GetRequiredService<InferenceSettings>();
            return new BatchRunnerOptions { MaxAttempts = settings.MaxAttempts, Sharding = settings.Sharding };
        });
        services.AddSingleton<IBatchStore>(provider =>
        {
            var storage = provider.GetRequiredService<InferenceStorage>();
            return new BlobBatchStore(storage.Service, storage.CopySource);
        });
        services.AddSingleton<IShardQueue>(provider =>
            new StorageQueueShardQueue(() => provider.GetRequiredService<InferenceStorage>().Queues.GetQueueClient(AzureContract.ShardQueue)));
        services.AddSingleton(provider =>
            new ShardDeadLetterQueue(provider.GetRequiredService<InferenceStorage>().Queues.GetQueueClient(AzureContract.ShardPoisonQueue)));
        // The planner: a file too big for one invocation goes out as one message per shard.
        services.AddSingleton(provider => new BatchJobRunner(
            provider.GetRequiredService<IBatchStore>(),
            provider.GetRequiredService<ModelHost>(),
            provider.GetRequiredService<BatchRunnerOptions>(),
            provider.GetService<ILogger<BatchJobRunner>>(),
            provider.GetRequiredService<TimeProvider>(),
            provider.GetRequiredService<IShardQueue>()));
        services.AddSingleton(provider => new BatchShardRunner(
            provider.GetRequiredService<IBatchStore>(),
            provider.GetRequiredService<ModelHost>(),
            provider.GetRequiredService<BatchRunnerOptions>(),
            provider.GetService<ILogger<BatchShardRunner>>(),
            provider.GetRequiredService<TimeProvider>()));
        services.AddSingleton(provider => new IncomingSweep(
            provider.GetRequiredService<BatchJobRunner>(),
            new IncomingSweepOptions { OlderThan = provider.GetRequiredService<InferenceSettings>().SweepAfter },
            provider.GetRequiredService<TimeProvider>(),
            provider.GetService<ILogger<IncomingSweep>>()));
        return services;
    }

    /// <summary>Loads the models named in <see cref="AzureContract.WarmupModelsSetting"/> at start-up, in the background.</summary>
    public static IServiceCollection AddModelWarmup(this IServiceCollection services)
    {
        services.AddSingleton<ModelWarmup>();
        services.AddHostedService(provider => provider.GetRequiredService<ModelWarmup>());
        return services;
    }
}

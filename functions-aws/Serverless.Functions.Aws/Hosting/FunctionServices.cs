using Amazon.S3;
using Amazon.SQS;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Serverless.Functions.Aws.Events;
using Serverless.Functions.Aws.Queues;
using Serverless.Functions.Aws.Runtime;
using Serverless.Functions.Aws.Storage;
using Serverless.Inference;
using Serverless.Inference.Batch;
using Serverless.Inference.Batch.Sharding;
using Serverless.Inference.Hosting;
using Serverless.Inference.Monitoring;
using Serverless.Inference.Repository;
using Serverless.Inference.Streaming;

namespace Serverless.Functions.Aws;

internal static class FunctionServices
{
    /// <summary>
    /// The process-wide services: one model host (warm invocations find the sessions the first one loaded),
    /// the protocol handler, and, with a bucket, the S3 stores and the batch runner.
    /// </summary>
    public static IServiceCollection AddAwsFunction(this IServiceCollection services, FunctionSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        services.AddSingleton(settings);
        services.TryAddSingleton(TimeProvider.System);
        if (settings.Bucket is { } bucket)
        {
            services.AddSingleton<IAmazonS3>(_ => S3Clients.Create(settings));
            services.AddInference(provider => ModelStore(new S3ModelStore(provider.GetRequiredService<IAmazonS3>(), bucket), settings.PackagedModels), host => ConfigureHost(host, settings));
            services.AddSingleton<IBatchStore>(provider => new S3BatchStore(provider.GetRequiredService<IAmazonS3>(), bucket));
            // Sampled requests of models with monitoring.capture, under capture/ in the bucket. Under the Runtime API the
            // process may be frozen between invocations, so the end of each invocation writes them instead of a loop.
            services.AddSingleton(provider => new PredictionCapture(
                provider.GetRequiredService<IBatchStore>(),
                new CaptureOptions { BackgroundFlush = settings.RuntimeApi is null },
                provider.GetRequiredService<ILogger<PredictionCapture>>(),
                provider.GetRequiredService<TimeProvider>()));
            services.AddSingleton<IInvocationEndHook, CaptureFlushHook>();
            // Only /tmp is writable on Lambda; results and parts are staged there before they are published.
            services.AddSingleton(_ => new BatchRunnerOptions
            {
                WorkDirectory = Path.GetTempPath(),
                Sharding = settings.RowsPerShard is { } rows ? new ShardingOptions { RowsPerShard = rows } : new ShardingOptions(),
            });
            services.AddSingleton(provider => new BatchJobRunner(
                provider.GetRequiredService<IBatchStore>(),
                provider.GetRequiredService<ModelHost>(),
                provider.GetRequiredService<BatchRunnerOptions>(),
                provider.GetRequiredService<ILogger<BatchJobRunner>>(),
                provider.GetRequiredService<TimeProvider>(),
                // With the shard queue (the batch function), a big file is planned and fanned out instead of scored here.
                provider.GetService<IShardQueue>()));
            services.AddSingleton(provider => new BatchShardRunner(
                provider.GetRequiredService<IBatchStore>(),
                provider.GetRequiredService<ModelHost>(),
                provider.GetRequiredService<BatchRunnerOptions>(),
                provider.GetRequiredService<ILogger<BatchShardRunner>>(),
                provider.GetRequiredService<TimeProvider>()));
            services.AddSingleton<IShardProcessor>(provider => new CoreShardProcessor(provider.GetRequiredService<BatchShardRunner>()));
            services.AddSingleton(provider => new S3EventProcessor(
                provider.GetRequiredService<BatchJobRunner>(), bucket, provider.GetRequiredService<ILogger<S3EventProcessor>>()));
            services.AddSingleton(provider => new IncomingSweep(
                provider.GetRequiredService<BatchJobRunner>(),
                new IncomingSweepOptions { OlderThan = settings.SweepAfter },
                provider.GetRequiredService<TimeProvider>(),
                provider.GetRequiredService<ILogger<IncomingSweep>>()));
        }
        else
        {
            services.AddInference(_ => new LocalFolderModelStore(settings.ModelDirectory), host => ConfigureHost(host, settings));
        }

        if (settings.ShardQueue is { } shardQueue && settings.ShardDeadLetterQueue is { } shardDeadLetters)
        {
            services.AddSingleton<IAmazonSQS>(_ => SqsClients.Create(settings));
            services.AddSingleton<IShardQueue>(provider => new SqsShardQueue(
                provider.GetRequiredService<IAmazonSQS>(), shardQueue, provider.GetRequiredService<ILogger<SqsShardQueue>>(), provider.GetRequiredService<TimeProvider>()));
            services.AddSingleton(provider => new SqsDeadLetterQueue(provider.GetRequiredService<IAmazonSQS>(), shardDeadLetters));
            services.AddSingleton(provider => new ShardRecordProcessor(
                provider.GetRequiredService<IShardProcessor>(),
                shardQueue,
                provider.GetRequiredService<SqsDeadLetterQueue>(),
                provider.GetRequiredService<ILogger<ShardRecordProcessor>>()));
        }

        if (settings.Stream is { } stream)
        {
            services.AddStreamScoring(stream);
        }

        services.AddSingleton(provider => new EventDispatcher(
            provider.GetRequiredService<Inference.Protocol.OpenInferenceHandler>(),
            provider.GetService<S3EventProcessor>(),
            provider.GetService<IncomingSweep>(),
            provider.GetRequiredService<ILogger<EventDispatcher>>(),
            provider.GetService<ShardRecordProcessor>(),
            provider.GetService<KinesisEventProcessor>()));
        return services;
    }

    /// <summary>The bucket's models, behind the models packaged with the function when there are any.</summary>
    private static IModelStore ModelStore(IModelStore bucket, string? packagedModels) =>
        packagedModels switch
        {
            null => bucket,
            _ when Directory.Exists(packagedModels) => new PackagedFirstModelStore(packagedModels, bucket),
            _ => throw new InvalidOperationException(
                $"{FunctionSettings.ModelDirectoryVariable} names the folder of models packaged with the function, which does not exist: '{ModelNames.Printable(packagedModels)}'"),
        };

    /// <summary>
    /// The stream function's: the core's stream processor over the bucket's predictions/ and stream-state/, alerts to the
    /// SQS queue, and the Kinesis handler in front.
    /// </summary>
    private static void AddStreamScoring(this IServiceCollection services, StreamSettings stream)
    {
        services.TryAddSingleton<IAmazonSQS>(provider => SqsClients.Create(provider.GetRequiredService<FunctionSettings>()));
        services.AddSingleton<IAlertSink>(provider => new SqsAlertSink(
            provider.GetRequiredService<IAmazonSQS>(), stream.AlertQueue, provider.GetRequiredService<ILogger<SqsAlertSink>>(), provider.GetRequiredService<TimeProvider>()));
        services.AddSingleton(provider => new StreamProcessor(
            provider.GetRequiredService<ModelHost>(),
            provider.GetRequiredService<IBatchStore>(),
            provider.GetRequiredService<IAlertSink>(),
            provider.GetRequiredService<ILogger<StreamProcessor>>(),
            provider.GetRequiredService<TimeProvider>()));
        services.AddSingleton(provider => new KinesisEventProcessor(
            provider.GetRequiredService<StreamProcessor>(), stream, provider.GetRequiredService<ILogger<KinesisEventProcessor>>()));
    }

    /// <summary>Loads the models named in INFERENCE_WARMUP_MODELS, so the first request finds them ready.</summary>
    public static async Task WarmUpAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        var settings = services.GetRequiredService<FunctionSettings>();
        var host = services.GetRequiredService<ModelHost>();
        foreach (var model in settings.WarmupModels)
        {
            using var lease = await host.AcquireAsync(ModelNames.Require(model, LambdaContract.WarmupModelsVariable), null, cancellationToken).ConfigureAwait(false);
        }

        if (settings.Stream is { } stream)
        {
            await WarmUpStreamModelAsync(host, stream, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The stream model is loaded during initialisation: a model the repository does not hold is a configuration error,
    /// reported once to Lambda's init error with the variable named, not a batch retried until its records expire.
    /// </summary>
    private static async Task WarmUpStreamModelAsync(ModelHost host, StreamSettings stream, CancellationToken cancellationToken)
    {
        try
        {
            using var lease = await host.AcquireAsync(stream.Model, stream.Version, cancellationToken).ConfigureAwait(false);
        }
        catch (InferenceException e)
        {
            throw new InvalidOperationException(
                $"{LambdaContract.StreamModelVariable}={stream.Model}{(stream.Version is null ? "" : $", {LambdaContract.StreamModelVersionVariable}={stream.Version}")} cannot be served: {e.Message}", e);
        }
    }

    /// <summary>Lambda gives an instance one invocation at a time, so there is never a concurrent request to batch with.</summary>
    private static void ConfigureHost(ModelHostOptions host, FunctionSettings settings) => host.DynamicBatching = settings.RuntimeApi is null;
}

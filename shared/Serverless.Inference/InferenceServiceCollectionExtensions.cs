using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serverless.Inference.Hosting;
using Serverless.Inference.Monitoring;
using Serverless.Inference.Protocol;
using Serverless.Inference.Repository;

namespace Serverless.Inference;

public static class InferenceServiceCollectionExtensions
{
    /// <summary>
    /// Adds the process-wide model host over the given store, and the Open Inference Protocol handler.
    /// Singletons on purpose: warm invocations must find the sessions the first one loaded.
    /// </summary>
    public static IServiceCollection AddInference(
        this IServiceCollection services,
        Func<IServiceProvider, IModelStore> store,
        Action<ModelHostOptions>? configureHost = null,
        Action<RequestLimits>? configureLimits = null)
    {
        var hostOptions = new ModelHostOptions();
        configureHost?.Invoke(hostOptions);
        var limits = new RequestLimits();
        configureLimits?.Invoke(limits);

        services.AddSingleton(hostOptions);
        services.AddSingleton(limits);
        services.AddSingleton(provider =>
        {
            // A host registers its capture as a service (its store may need other services); the options exist before them.
            hostOptions.Capture ??= provider.GetService<PredictionCapture>();
            return new ModelHost(
                store(provider),
                hostOptions,
                provider.GetService<TimeProvider>(),
                provider.GetService<ILogger<ModelHost>>());
        });
        services.AddSingleton(provider => new OpenInferenceHandler(
            provider.GetRequiredService<ModelHost>(),
            limits,
            provider.GetService<ILogger<OpenInferenceHandler>>(),
            provider.GetService<TimeProvider>()));
        return services;
    }
}

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serverless.Functions.Aws.Events;
using Serverless.Functions.Aws.Runtime;
using Serverless.Functions.Aws.Telemetry;

namespace Serverless.Functions.Aws;

internal static class LambdaEntryPoint
{
    public static async Task<int> RunAsync(FunctionSettings settings)
    {
        using var stopping = new CancellationTokenSource();
        // Lambda sends SIGTERM before it shuts a sandbox down; the loop ends between invocations.
        using var terminate = System.Runtime.InteropServices.PosixSignalRegistration.Create(
            System.Runtime.InteropServices.PosixSignal.SIGTERM, context =>
            {
                context.Cancel = true;
                stopping.Cancel();
            });

        var services = new ServiceCollection()
            .AddLambdaTelemetry(Environment.GetEnvironmentVariable)
            .AddAwsFunction(settings);
        await using var provider = services.BuildServiceProvider();
        using var api = new HttpLambdaRuntimeApi(settings.RuntimeApi!);
        var bootstrap = new LambdaBootstrap(
            api, TimeProvider.System, provider.GetRequiredService<ILogger<LambdaBootstrap>>(), provider.GetServices<IInvocationEndHook>().ToList());
        return await bootstrap.RunAsync(
            async cancellationToken =>
            {
                await FunctionServices.WarmUpAsync(provider, cancellationToken).ConfigureAwait(false);
                return provider.GetRequiredService<EventDispatcher>();
            },
            stopping.Token).ConfigureAwait(false);
    }
}

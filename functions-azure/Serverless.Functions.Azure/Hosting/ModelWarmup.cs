using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serverless.Inference.Hosting;

namespace Serverless.Functions.Azure.Hosting;

/// <summary>
/// Loads the models named in <see cref="AzureContract.WarmupModelsSetting"/> when the worker starts, in the
/// background: the first requests share these loads (the host's single flight) instead of starting their own.
/// A model that fails to load is logged and left to load on demand; warmup never stops the worker.
/// </summary>
internal sealed partial class ModelWarmup(ModelHost host, InferenceSettings settings, ILogger<ModelWarmup> logger) : IHostedService, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();

    public Task Completion { get; private set; } = Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (settings.WarmupModels.Count > 0)
        {
            Completion = Task.Run(() => WarmAsync(_stopping.Token), CancellationToken.None);
        }

        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public void Dispose() => _stopping.Dispose();

    private async Task WarmAsync(CancellationToken cancellationToken)
    {
        foreach (var name in settings.WarmupModels)
        {
            try
            {
                using var lease = await host.AcquireAsync(name, null, cancellationToken).ConfigureAwait(false);
                LogWarmed(logger, lease.Name, lease.Version, lease.Identity);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // Warmup is an optimisation: any failure leaves the model to load on first use.
            catch (Exception e)
#pragma warning restore CA1031
            {
                LogWarmupFailed(logger, e, name, e.Message);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Warmed up model {Model} version {Version} ({Identity})")]
    private static partial void LogWarmed(ILogger logger, string model, string version, string identity);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Warmup of model {Model} failed; it loads on first use instead: {Error}")]
    private static partial void LogWarmupFailed(ILogger logger, Exception exception, string model, string error);
}

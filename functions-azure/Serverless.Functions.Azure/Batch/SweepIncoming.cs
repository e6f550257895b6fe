using Microsoft.Azure.Functions.Worker;
using Serverless.Functions.Azure.Hosting;
using Serverless.Inference.Batch;

namespace Serverless.Functions.Azure.Batch;

/// <summary>
/// Scores files under <c>incoming/</c> whose Event Grid event never arrived (dropped after its retries, say): on the
/// schedule in <see cref="AzureContract.SweepScheduleSetting"/>, every file older than
/// <see cref="AzureContract.SweepAfterMinutesSetting"/> goes through the same runner as an event would. Files already
/// scored cost one look at their results.
/// </summary>
public sealed class SweepIncoming(IncomingSweep sweep, TimeProvider time)
{
    [Function(AzureContract.SweepIncomingFunction)]
    public async Task RunAsync([TimerTrigger("%" + AzureContract.SweepScheduleSetting + "%")] TimerInfo timer, CancellationToken cancellationToken) =>
        await sweep.RunAsync(time.GetUtcNow() + InferenceSettings.FunctionTimeout, cancellationToken).ConfigureAwait(false);
}

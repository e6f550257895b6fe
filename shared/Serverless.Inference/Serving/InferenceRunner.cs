using Serverless.Inference.Hosting;
using Serverless.Inference.Monitoring;
using Serverless.Inference.Protocol;

namespace Serverless.Inference.Serving;

/// <summary>
/// The inference path every transport shares (REST, gRPC): find the model version, reserve the run's working memory,
/// run. Transports only parse requests and write responses around it.
/// </summary>
internal sealed class InferenceRunner(ModelHost host)
{
    /// <summary>Runs a parsed request; dispose the result after writing the response.</summary>
    /// <param name="onResolved">Told the version that serves the request as soon as it is known, for telemetry.</param>
    /// <param name="timeLeft">The caller's remaining deadline, when the transport knows one; a dynamic batch never waits past half of it.</param>
    public async Task<InferenceResult> RunAsync(
        string model, string? version, InferRequest request, Action<string>? onResolved, CancellationToken cancellationToken, TimeSpan? timeLeft = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        var lease = await host.AcquireAsync(model, version, cancellationToken).ConfigureAwait(false);
        MemoryReservation? memory = null;
        try
        {
            onResolved?.Invoke(lease.Version);
            memory = await lease.ReserveAsync(request.Inputs, MemoryWait.Online, cancellationToken).ConfigureAwait(false);
            var outputNames = request.Outputs.Select(o => o.Name).ToList();
            var outputs = lease.Batcher is { } batcher
                ? await batcher.RunAsync(request.Inputs, outputNames, timeLeft, cancellationToken).ConfigureAwait(false)
                : lease.Endpoint.Run(request.Inputs, outputNames, cancellationToken);
            lease.Capture?.Request(ModelCapture.Online, request.Id, request.Inputs, outputs);
            return new InferenceResult(lease, memory, outputs);
        }
        catch
        {
            memory?.Dispose();
            lease.Dispose();
            throw;
        }
    }
}

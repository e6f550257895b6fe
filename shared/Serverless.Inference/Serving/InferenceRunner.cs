using System.Diagnostics;
using Serverless.Inference.Hosting;
using Serverless.Inference.Monitoring;
using Serverless.Inference.Protocol;
using Serverless.Inference.Runtime;

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
    /// <param name="timeline">Stamped with the run's start and end and the request's rows, for the model's statistics.</param>
    public async Task<InferenceResult> RunAsync(
        string model,
        string? version,
        InferRequest request,
        Action<string>? onResolved,
        CancellationToken cancellationToken,
        TimeSpan? timeLeft = null,
        RequestTimeline? timeline = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        var lease = await host.AcquireAsync(model, version, cancellationToken).ConfigureAwait(false);
        MemoryReservation? memory = null;
        try
        {
            onResolved?.Invoke(lease.Version);
            var rows = RowsOf(lease, request);
            if (timeline is not null)
            {
                timeline.Rows = rows;
            }

            memory = await lease.ReserveAsync(request.Inputs, MemoryWait.Online, cancellationToken).ConfigureAwait(false);
            var outputNames = request.Outputs.Select(o => o.Name).ToList();
            var outputs = lease.Batcher is { } batcher
                ? await batcher.RunAsync(request.Inputs, outputNames, timeLeft, cancellationToken, timeline).ConfigureAwait(false)
                : RunAlone(lease, request, outputNames, rows, timeline, cancellationToken);
            PredictionMetrics.Record(lease.Name, lease.Version, outputs, rows);
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

    private ModelOutputs RunAlone(ModelLease lease, InferRequest request, IReadOnlyList<string> outputNames, int rows, RequestTimeline? timeline, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var outputs = lease.Endpoint.Run(request.Inputs, outputNames, cancellationToken);
        var ended = Stopwatch.GetTimestamp();
        host.Statistics.For(lease.Name, lease.Version).RecordExecution(rows, ended - started);
        if (timeline is not null)
        {
            (timeline.RunStarted, timeline.RunEnded) = (started, ended);
        }

        return outputs;
    }

    /// <summary>The request's rows: its first dimension when the model batches, else 1 (Triton's inference_count rule).</summary>
    private static int RowsOf(ModelLease lease, InferRequest request) =>
        lease.Model.MaxBatchSize > 0 && request.Inputs is [{ Shape: [> 0 and <= int.MaxValue and var rows, ..] }, ..] ? (int)rows : 1;
}

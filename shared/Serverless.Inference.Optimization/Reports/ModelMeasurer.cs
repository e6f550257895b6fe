using System.Diagnostics;
using System.Globalization;
using Serverless.Inference.Hosting;
using Serverless.Inference.Repository;
using Serverless.Inference.Runtime;

namespace Serverless.Inference.Optimization.Reports;

/// <summary>
/// Loads one model version the way the hosts do (a <see cref="ModelHost"/> over its store) and measures it: its
/// outputs on every sample row, session creation, latency per batch size, and peak memory.
/// </summary>
internal sealed class ModelMeasurer(MeasureOptions options)
{
    public async Task<ModelMeasurement> MeasureAsync(IModelStore store, string model, string version, SampleSet samples, CancellationToken cancellationToken)
    {
        var file = await store.StatAsync(ModelFilePath.Onnx(model, version), cancellationToken).ConfigureAwait(false)
            ?? throw new OptimizationException($"model '{model}' version {version} has no {ModelFilePath.ModelFileName}");
        var sessions = new List<double>();
        var latency = new Dictionary<string, double>(StringComparer.Ordinal);
        var outputs = new List<CapturedOutput>();

        // What is left of the model measured before should not count against this one.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var peakReset = PeakMemory.TryReset();
        var startRss = PeakMemory.Read("VmRSS");
        long? peak;
        using (var host = NewHost(store))
        {
            using var lease = await AcquireAsync(host, model, version, cancellationToken).ConfigureAwait(false);
            sessions.Add(lease.LoadReport.SessionCreate.TotalMilliseconds);
            IInferenceModel target = samples.Raw ? lease.Model : lease.Endpoint;
            var runner = new SampleRunner(target, samples);
            var maxBatch = lease.Manifest.MaxBatchSize;
            var rowsPerRun = maxBatch > 0 ? Math.Min(maxBatch, options.MaxRowsPerRun) : 1;
            for (var first = 0; first < samples.Lines.Count; first += rowsPerRun)
            {
                var rows = Math.Min(rowsPerRun, samples.Lines.Count - first);
                using var run = runner.Run(first, rows, cancellationToken);
                CapturedOutput.AddAll(outputs, run, rows);
            }

            foreach (var batch in MeasureOptions.LatencyBatchSizes.Where(size => size == 1 || maxBatch >= size))
            {
                latency[batch.ToString(CultureInfo.InvariantCulture)] = MedianLatency(runner, batch, cancellationToken);
            }

            peak = peakReset ? PeakMemory.Read("VmHWM") : null;
        }

        for (var i = 1; i < options.SessionCreations; i++)
        {
            using var host = NewHost(store);
            using var lease = await AcquireAsync(host, model, version, cancellationToken).ConfigureAwait(false);
            sessions.Add(lease.LoadReport.SessionCreate.TotalMilliseconds);
        }

        var cost = new ModelCost(file.Length, Median(sessions), sessions.Count, latency, options.LatencyRuns, peak, peak - startRss);
        return new ModelMeasurement(outputs, cost);
    }

    private double MedianLatency(SampleRunner runner, int batch, CancellationToken cancellationToken)
    {
        using (runner.RunRepeated(batch, cancellationToken))
        {
        }

        var times = new List<double>(options.LatencyRuns);
        for (var run = 0; run < options.LatencyRuns; run++)
        {
            var started = Stopwatch.GetTimestamp();
            using (runner.RunRepeated(batch, cancellationToken))
            {
                times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        }

        return Median(times);
    }

    private static async Task<ModelLease> AcquireAsync(ModelHost host, string model, string version, CancellationToken cancellationToken)
    {
        try
        {
            return await host.AcquireAsync(model, version, cancellationToken).ConfigureAwait(false);
        }
        catch (InferenceException e)
        {
            throw new OptimizationException($"model '{model}' version {version} does not load: {e.Message}", e);
        }
    }

    // No background refreshes: each host lives for one measurement.
    private static ModelHost NewHost(IModelStore store) => new(store, new ModelHostOptions { RefreshInterval = TimeSpan.FromDays(1) });

    internal static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? 0 : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }
}

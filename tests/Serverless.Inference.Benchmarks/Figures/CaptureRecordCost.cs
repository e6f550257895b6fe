using System.Diagnostics;
using Serverless.Inference.Batch;
using Serverless.Inference.Benchmarks.Harness;
using Serverless.Inference.Hosting;
using Serverless.Inference.Monitoring;
using Serverless.Inference.Repository;
using Serverless.Inference.Runtime;

namespace Serverless.Inference.Benchmarks.Figures;

/// <summary>
/// Where capture's cost on the request path goes, without HTTP around it: one iris request's real inputs and outputs
/// handed to <see cref="ModelCapture.Request"/> in a loop on one thread (time and bytes allocated per call on that
/// thread), against the same request's model run in the same loop as the scale, and the background writer's
/// time per record turned into the object's bytes, measured on its own.
/// </summary>
internal static class CaptureRecordCost
{
    private const int Calls = 200_000;
    private const int Rounds = 5;
    private static readonly float[] Row = [5.1f, 3.5f, 1.4f, 0.2f];

    public static async Task RunAsync()
    {
        Report.Title(
            "capture-record: the request thread's share of prediction capture, per one-row iris request",
            Report.Invariant($"{Rounds} rounds of {Calls:N0} calls on one thread: the model run alone (the scale), and ModelCapture.Request at 100% with a background writer to a local folder; ns and bytes allocated per call."));

        var root = Directory.CreateTempSubdirectory("capture-record-").FullName;
        try
        {
            using var host = new ModelHost(new LocalFolderModelStore(Loopback.ModelRepository), new ModelHostOptions { CacheDirectory = Path.Combine(root, "cache") });
            using var lease = await host.AcquireAsync("iris", null, CancellationToken.None);
            using var input = InputTensor.FromArray<float>("Features", TensorDataType.Fp32, [1, 4], Row);
            IReadOnlyList<InputTensor> inputs = [input];

            await using var capture = new PredictionCapture(new LocalFolderBatchStore(Path.Combine(root, "store")));
            var model = new ModelCapture(capture, new CaptureManifest(SampleRate: 1), "iris", lease.Version, lease.Identity, batchesRows: true);

            using var outputs = lease.Endpoint.Run(inputs, null, CancellationToken.None);
            var run = Measure(() =>
            {
                using var fresh = lease.Endpoint.Run(inputs, null, CancellationToken.None);
            });
            var record = Measure(() => model.Request(ModelCapture.Online, null, inputs, outputs));

            Report.Columns("ns per call");
            Report.Row("iris model run (the scale)", run.Select(r => r.Nanoseconds).ToList(), "F0");
            Report.Row("ModelCapture.Request, 100%", record.Select(r => r.Nanoseconds).ToList(), "F0");
            Report.Line($"allocated per call: model run {Stats.Median(run.Select(r => r.Bytes).ToList()):F0} B, capture {Stats.Median(record.Select(r => r.Bytes).ToList()):F0} B");
            Report.Ratio("capture / model run", Stats.Median(record.Select(r => r.Nanoseconds).ToList()) / Stats.Median(run.Select(r => r.Nanoseconds).ToList()));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static List<(double Nanoseconds, double Bytes)> Measure(Action call)
    {
        for (var i = 0; i < Calls / 10; i++)
        {
            call();
        }

        var rounds = new List<(double, double)>();
        for (var round = 0; round < Rounds; round++)
        {
            var bytes = GC.GetAllocatedBytesForCurrentThread();
            var start = Stopwatch.GetTimestamp();
            for (var i = 0; i < Calls; i++)
            {
                call();
            }

            var elapsed = Stopwatch.GetElapsedTime(start);
            rounds.Add((elapsed.TotalNanoseconds / Calls, (GC.GetAllocatedBytesForCurrentThread() - bytes) / (double)Calls));
        }

        return rounds;
    }
}

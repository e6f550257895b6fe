using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Grpc.Net.Client;
using Serverless.Inference.Benchmarks.Harness;
using Serverless.Inference.Grpc.V2;
using static Serverless.Inference.Grpc.V2.ModelInferRequest.Types;

namespace Serverless.Inference.Benchmarks.Figures;

/// <summary>
/// The two transports of one serve host on loopback, one request at a time: gRPC ModelInfer with raw contents against
/// REST with the binary tensor extension, the same input, on a large input (ResNet18) and a tiny one (iris), where
/// the transport is most of the time.
/// </summary>
internal static class GrpcVsRest
{
    private const int Rounds = 20;
    private const int WarmupRequests = 10;

    public static async Task RunAsync()
    {
        Report.Title(
            "grpc-vs-rest: gRPC (raw contents) and REST (binary tensor extension) on one serve host, sequential requests",
            Report.Invariant($"{Rounds} rounds per model, each variant's share of a round in rotated order; latency per request, client side, response read in full."));

        var grpcPort = Loopback.FreePort();
        await using var serve = await ServeHost.StartAsync(Loopback.ModelRepository, 16 * 1024 * 1024, grpcPort: grpcPort);
        using var channel = GrpcChannel.ForAddress(Report.Invariant($"http://127.0.0.1:{grpcPort}"));
        var grpc = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        using var http = Loopback.Client();

        var random = new Random(42);
        var image = new float[3 * 224 * 224];
        for (var i = 0; i < image.Length; i++)
        {
            image[i] = random.NextSingle();
        }

        await CompareAsync(new Workload("resnet18", "Input247", [1, 3, 224, 224], image, PerRound: 5), serve, grpc, http);
        await CompareAsync(new Workload("iris", "Features", [1, 4], [5.1f, 3.5f, 1.4f, 0.2f], PerRound: 25), serve, grpc, http);
    }

    private static async Task CompareAsync(Workload work, ServeHost serve, GRPCInferenceService.GRPCInferenceServiceClient grpc, HttpClient http)
    {
        var uri = new Uri(serve.BaseAddress, $"/v2/models/{work.Model}/infer");
        var (body, headerLength) = InferBodies.BinaryRequest(work.Input, work.Shape, work.Data);
        var message = new ModelInferRequest { ModelName = work.Model };
        message.Inputs.Add(new InferInputTensor { Name = work.Input, Datatype = "FP32", Shape = { work.Shape } });
        message.RawInputContents.Add(ByteString.CopyFrom(MemoryMarshal.AsBytes(work.Data.AsSpan())));

        var viaRest = await RestAnswerAsync();
        var viaGrpc = MemoryMarshal.Cast<byte, float>((await grpc.ModelInferAsync(message)).RawOutputContents[0].Span).ToArray();
        if (!viaRest.SequenceEqual(viaGrpc))
        {
            throw new InvalidOperationException($"{work.Model}: gRPC and REST answers differ");
        }

        Console.WriteLine();
        Report.Line($"{work.Model}: input {string.Join('x', work.Shape)} FP32 ({body.Length - headerLength} B raw), gRPC and REST answers identical ({viaGrpc.Length} values)");

        var variants = new (string Label, Func<Task<double>> Measure)[]
        {
            ("gRPC ModelInfer, raw contents", TimeGrpcAsync),
            ("REST, binary tensor extension", TimeRestAsync),
        };
        foreach (var variant in variants)
        {
            for (var i = 0; i < WarmupRequests; i++)
            {
                await variant.Measure();
            }
        }

        var samples = variants.Select(_ => new List<double>()).ToArray();
        for (var round = 0; round < Rounds; round++)
        {
            for (var k = 0; k < variants.Length; k++)
            {
                var v = (round + k) % variants.Length;
                for (var i = 0; i < work.PerRound; i++)
                {
                    samples[v].Add(await variants[v].Measure());
                }
            }
        }

        Report.Columns("ms");
        for (var v = 0; v < variants.Length; v++)
        {
            Report.Row(variants[v].Label, samples[v], "F3");
        }

        var (grpcSamples, restSamples) = (samples[0], samples[1]);
        Report.Line($"p99: gRPC {Stats.Percentile(grpcSamples, 0.99):F3} ms, REST {Stats.Percentile(restSamples, 0.99):F3} ms");
        Report.Ratio($"{work.Model} gRPC / REST, median", Stats.Median(grpcSamples) / Stats.Median(restSamples));
        Report.Ratio($"{work.Model} gRPC / REST, p99", Stats.Percentile(grpcSamples, 0.99) / Stats.Percentile(restSamples, 0.99));

        async Task<double> TimeGrpcAsync()
        {
            var start = Stopwatch.GetTimestamp();
            var response = await grpc.ModelInferAsync(message);
            var elapsed = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            return response.RawOutputContents.Count > 0 ? elapsed : throw new InvalidOperationException("gRPC answered no outputs");
        }

        async Task<double> TimeRestAsync()
        {
            var start = Stopwatch.GetTimestamp();
            using var request = InferBodies.Post(uri, body, headerLength);
            using var response = await http.SendAsync(request);
            await response.Content.ReadAsByteArrayAsync();
            var elapsed = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            return response.StatusCode == HttpStatusCode.OK
                ? elapsed
                : throw new InvalidOperationException(Report.Invariant($"the host answered {(int)response.StatusCode}"));
        }

        async Task<float[]> RestAnswerAsync()
        {
            using var request = InferBodies.Post(uri, body, headerLength);
            using var response = await http.SendAsync(request);
            var bytes = await response.Content.ReadAsByteArrayAsync();
            return response.StatusCode == HttpStatusCode.OK
                ? InferBodies.FirstOutput(response, bytes)
                : throw new InvalidOperationException(Report.Invariant($"{(int)response.StatusCode}: {System.Text.Encoding.UTF8.GetString(bytes)}"));
        }
    }

    /// <param name="PerRound">Requests per variant per round: more for the fast model, so both get enough samples for a p99.</param>
    private sealed record Workload(string Model, string Input, long[] Shape, float[] Data, int PerRound);
}

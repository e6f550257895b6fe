using System.Diagnostics;
using System.Text.Json;
using Serverless.Inference.Benchmarks.Harness;
using Serverless.Inference.Protocol;

namespace Serverless.Inference.Benchmarks.Figures;

/// <summary>
/// Figure 2: decoding a JSON request of 150,528 FP32 values (one 3x224x224 image) with
/// <see cref="InferRequestReader"/>: bytes allocated per call, and time against a bare
/// <see cref="Utf8JsonReader"/> pass that decodes the same numbers into a preallocated array.
/// </summary>
internal static class JsonAlloc
{
    private const int Elements = 3 * 224 * 224;
    private const int Rounds = 30;
    private const int PerRound = 3;
    private const int WarmupCalls = 10;

    public static void Run()
    {
        Report.Title(
            "json-alloc: InferRequestReader.Read on a JSON request of 150,528 FP32 values",
            Report.Invariant($"allocation = GC.GetAllocatedBytesForCurrentThread() around Read + Dispose; time against a bare Utf8JsonReader decode of the same numbers; {Rounds} rounds x {PerRound} calls, alternating."));

        var data = new float[Elements];
        var random = new Random(42);
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = random.NextSingle();
        }

        var json = InferBodies.JsonRequest("Input247", [1, 3, 224, 224], data);
        var limits = new RequestLimits { MaxRequestBytes = 16 * 1024 * 1024 };
        var decoded = new float[Elements];
        Report.Line($"request: {json.Length / 1024.0:F0} KiB of JSON, {json.Length / (double)Elements:F1} bytes per element");

        // Both must decode the same values, or the comparison means nothing.
        using (var request = InferRequestReader.Read(json, [], limits))
        {
            BareDecode(json, decoded);
            var parsed = request.Inputs[0].AsSpan<float>();
            if (!parsed.SequenceEqual(data) || !decoded.AsSpan().SequenceEqual(data))
            {
                throw new InvalidOperationException("a decoder did not read back the values that were written");
            }
        }

        for (var i = 0; i < WarmupCalls; i++)
        {
            ReadOnce(json, limits);
            BareDecode(json, decoded);
        }

        var allocated = new List<double>();
        var readerMs = new List<double>();
        var bareMs = new List<double>();
        for (var round = 0; round < Rounds; round++)
        {
            for (var i = 0; i < PerRound; i++)
            {
                if (round % 2 == 0)
                {
                    readerMs.Add(TimeRead(json, limits, allocated));
                    bareMs.Add(TimeBare(json, decoded));
                }
                else
                {
                    bareMs.Add(TimeBare(json, decoded));
                    readerMs.Add(TimeRead(json, limits, allocated));
                }
            }
        }

        Report.Columns("ms");
        Report.Row("bare Utf8JsonReader decode (baseline)", bareMs);
        Report.Row("InferRequestReader.Read + Dispose", readerMs);
        Report.Ratio("InferRequestReader / bare Utf8JsonReader", Stats.Median(readerMs) / Stats.Median(bareMs));
        Report.Line($"throughput: {json.Length / (Stats.Median(readerMs) / 1000) / (1024 * 1024):F0} MiB/s of JSON, {Stats.Median(readerMs) * 1e6 / Elements:F1} ns per element");
        Report.Columns("bytes");
        Report.Row("allocated per Read call", allocated, "F0");
        var perElement = Stats.Median(allocated) / Elements;
        Report.Line($"allocated per element = {perElement:F4} bytes (max over calls {allocated.Max() / Elements:F4}) (target: far below 1, i.e. no per-element allocation){(perElement < 0.01 ? "  ok" : "  MISSED")}");
    }

    private static double TimeRead(byte[] json, RequestLimits limits, List<double> allocated)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        var start = Stopwatch.GetTimestamp();
        ReadOnce(json, limits);
        var elapsed = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        allocated.Add(GC.GetAllocatedBytesForCurrentThread() - before);
        return elapsed;
    }

    private static void ReadOnce(byte[] json, RequestLimits limits)
    {
        using var request = InferRequestReader.Read(json, [], limits);
    }

    private static double TimeBare(byte[] json, float[] decoded)
    {
        var start = Stopwatch.GetTimestamp();
        BareDecode(json, decoded);
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }

    /// <summary>The least a JSON decoder can do: walk every token and parse every number into place.</summary>
    private static void BareDecode(ReadOnlySpan<byte> json, float[] decoded)
    {
        var reader = new Utf8JsonReader(json);
        var count = 0;
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("data"u8))
            {
                reader.Read();
                while (reader.Read() && reader.TokenType == JsonTokenType.Number && count < decoded.Length)
                {
                    decoded[count++] = reader.GetSingle();
                }
            }
        }

        if (count != decoded.Length)
        {
            throw new InvalidOperationException("the bare decoder found " + count + " numbers");
        }
    }
}

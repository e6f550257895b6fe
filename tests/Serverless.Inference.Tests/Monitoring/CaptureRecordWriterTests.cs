using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Serverless.Inference.Monitoring;
using Serverless.Inference.Protocol;
using Serverless.Inference.Runtime;

namespace Serverless.Inference.Tests.Monitoring;

/// <summary>
/// The record writer formats bytes itself; these records must be byte for byte what <see cref="Utf8JsonWriter"/>
/// with the response writer's options makes of the documented format, for every element type, the values JSON
/// cannot hold, strings that need escaping and bytes that are not UTF-8.
/// </summary>
public sealed class CaptureRecordWriterTests
{
    private const int Limit = 1 << 20;
    private static readonly DateTimeOffset Time = new(2026, 12, 1, 7, 5, 9, 987, TimeSpan.FromHours(2));

    [Fact]
    public void Record_EveryElementTypeAndAwkwardString_SameBytesAsUtf8JsonWriter()
    {
        var random = new Random(15);
        var floats = new[] { 0f, -0f, 0.1f, 1f / 3, 1e-45f, float.Epsilon, float.MaxValue, float.MinValue, 16777217f, 1.978147E-07f, float.NaN, float.PositiveInfinity, float.NegativeInfinity }
            .Concat(Enumerable.Range(0, 2000).Select(_ => BitConverter.Int32BitsToSingle(random.Next(int.MinValue, int.MaxValue))))
            .ToArray();
        var doubles = new[] { 0d, -0d, 0.1, 1d / 3, double.Epsilon, double.MaxValue, double.MinValue, 5e-324, 123456789012345678, double.NaN, double.NegativeInfinity }
            .Concat(Enumerable.Range(0, 2000).Select(_ => BitConverter.Int64BitsToDouble(random.NextInt64(long.MinValue, long.MaxValue))))
            .ToArray();
        var halves = new[] { (Half)0.1f, Half.MaxValue, Half.Epsilon, Half.NaN, Half.NegativeInfinity, (Half)(-2.5f) };
        byte[][] texts =
        [
            "plain"u8.ToArray(),
            Encoding.UTF8.GetBytes("quote \" backslash \\ slash / newline \n tab \t bell \u0007 café 日本 <b>&amp;</b> '+' \U0001F600"),
            [0xff, 0xfe, 0x41],
            [],
        ];
        IReadOnlyList<InputTensor> inputs =
        [
            InputTensor.FromArray<float>("f32", TensorDataType.Fp32, [floats.Length], floats),
            InputTensor.FromArray<double>("f64", TensorDataType.Fp64, [doubles.Length], doubles),
            InputTensor.FromArray<Half>("f16", TensorDataType.Fp16, [halves.Length], halves),
            InputTensor.FromArray<sbyte>("i8", TensorDataType.Int8, [3], [sbyte.MinValue, 0, sbyte.MaxValue]),
            InputTensor.FromArray<short>("i16", TensorDataType.Int16, [2], [short.MinValue, short.MaxValue]),
            InputTensor.FromArray<int>("i32", TensorDataType.Int32, [2], [int.MinValue, int.MaxValue]),
            InputTensor.FromArray<long>("i64", TensorDataType.Int64, [2], [long.MinValue, long.MaxValue]),
            InputTensor.FromArray<byte>("u8", TensorDataType.UInt8, [2], [0, 255]),
            InputTensor.FromArray<ushort>("u16", TensorDataType.UInt16, [1], [ushort.MaxValue]),
            InputTensor.FromArray<uint>("u32", TensorDataType.UInt32, [1], [uint.MaxValue]),
            InputTensor.FromArray<ulong>("u64", TensorDataType.UInt64, [2], [0, ulong.MaxValue]),
            InputTensor.FromArray<byte>("bool", TensorDataType.Bool, [2], [1, 0]),
            InputTensor.CreateBytes("texts", [texts.Length], texts),
            InputTensor.CreateBytes("one text", [1], [texts[1]]),
            InputTensor.FromArray<float>("naïve \"name\"", TensorDataType.Fp32, [1], [2.5f]),
        ];
        IReadOnlyList<OutputTensor> outputs =
        [
            OutputTensor.FromArray<float>("Score.output", TensorDataType.Fp32, [1, 3], [0.97436476f, 0.02563509f, 1.978147E-07f]),
            OutputTensor.FromArray<long>("one", TensorDataType.Int64, [1], [-7]),
            OutputTensor.FromStrings("PredictedLabel.output", [1], ["setosa"u8.ToArray()]),
            OutputTensor.FromStrings("labels", [texts.Length], texts),
        ];
        try
        {
            foreach (var (id, row) in new[] { ("req-42", 0), ("id with \"quotes\", é and \u0001", 3), ("", 0) })
            {
                var expected = Reference(id, row, inputs, outputs, ["text \"x\"", "plain"]);

                var actual = Written(id, row, inputs, outputs, ["text \"x\"", "plain"]);

                Assert.Equal(Encoding.UTF8.GetString(expected), Encoding.UTF8.GetString(actual));
                Assert.Equal(expected, actual);
            }
        }
        finally
        {
            foreach (var input in inputs)
            {
                input.Dispose();
            }
        }
    }

    [Fact]
    public void Record_ValuePastTheLimit_LeftOutAndListedAndTheLineWithinIt()
    {
        using var small = InputTensor.FromArray<float>("small", TensorDataType.Fp32, [2], [1.5f, 2.5f]);
        var many = Enumerable.Range(0, 400).Select(i => i / 7f).ToArray();
        using var large = InputTensor.FromArray<float>("large", TensorDataType.Fp32, [many.Length], many);
        var fields = new CaptureRecordFields("iris", "1", "sha256:abc");
        var writer = CaptureRecordWriter.Current;

        Assert.True(writer.Begin(Time, fields.Online, "r", 0, 1024, 16));
        writer.BeginSection("inputs"u8);
        writer.Value(large, fields.Name("large"), 0, many.Length);
        writer.Value(small, fields.Name("small"), 0, 2);
        writer.EndSection();
        var line = Encoding.UTF8.GetString(writer.End([]));

        Assert.True(Encoding.UTF8.GetByteCount(line) <= 1024);
        using var record = JsonDocument.Parse(line);
        Assert.Equal(new[] { 1.5f, 2.5f }, record.RootElement.GetProperty("inputs").GetProperty("small").EnumerateArray().Select(v => v.GetSingle()));
        Assert.False(record.RootElement.GetProperty("inputs").TryGetProperty("large", out _));
        Assert.Equal(["large"], record.RootElement.GetProperty("truncated").EnumerateArray().Select(v => v.GetString()));
    }

    [Fact]
    public void Begin_FixedFieldsAlonePastTheLimit_Refused()
    {
        var fields = new CaptureRecordFields("iris", "1", new string('x', 2000));

        Assert.False(CaptureRecordWriter.Current.Begin(Time, fields.Online, "r", 0, 1024, 0));
    }

    private static byte[] Written(string id, int row, IReadOnlyList<InputTensor> inputs, IReadOnlyList<OutputTensor> outputs, IReadOnlyList<string> redacted)
    {
        var fields = new CaptureRecordFields("iris", "1", "sha256:0123abc");
        var writer = CaptureRecordWriter.Current;
        Assert.True(writer.Begin(Time, fields.Batch, id, row, Limit, 0));
        writer.BeginSection("inputs"u8);
        foreach (var input in inputs)
        {
            writer.Value(input, fields.Name(input.Name), 0, input.ElementCount);
        }

        writer.EndSection();
        writer.BeginSection("outputs"u8);
        foreach (var output in outputs)
        {
            writer.Value(output, fields.Name(output.Name), 0, output.ElementCount);
        }

        writer.EndSection();
        return writer.End(redacted).ToArray();
    }

    /// <summary>The documented record, written the plain way: a Utf8JsonWriter with the response writer's options.</summary>
    private static byte[] Reference(string id, int row, IReadOnlyList<InputTensor> inputs, IReadOnlyList<OutputTensor> outputs, IReadOnlyList<string> redacted)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, InferResponseWriter.WriterOptions))
        {
            json.WriteStartObject();
            json.WriteString("time", Time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            json.WriteString("model", "iris");
            json.WriteString("version", "1");
            json.WriteString("identity", "sha256:0123abc");
            json.WriteString("source", "batch");
            json.WriteString("id", id);
            json.WriteNumber("row", row);
            json.WriteStartObject("inputs");
            foreach (var input in inputs)
            {
                json.WritePropertyName(input.Name);
                if (input.DataType == TensorDataType.Bytes)
                {
                    Strings(json, input.Strings!.Take(input.ElementCount).ToList());
                }
                else
                {
                    Numbers(json, input.DataType, input.Bytes, input.ElementCount);
                }
            }

            json.WriteEndObject();
            json.WriteStartObject("outputs");
            foreach (var output in outputs)
            {
                json.WritePropertyName(output.Name);
                if (output.DataType == TensorDataType.Bytes)
                {
                    Strings(json, [.. Enumerable.Range(0, output.ElementCount).Select(i => output.GetBytes(i).ToArray())]);
                }
                else
                {
                    Numbers(json, output.DataType, output.Bytes, output.ElementCount);
                }
            }

            json.WriteEndObject();
            json.WriteStartArray("redacted");
            foreach (var name in redacted)
            {
                json.WriteStringValue(name);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return [.. buffer.WrittenSpan, (byte)'\n'];
    }

    private static void Strings(Utf8JsonWriter json, List<byte[]> elements)
    {
        if (elements.Count != 1)
        {
            json.WriteStartArray();
        }

        foreach (var element in elements)
        {
            if (Utf8.IsValid(element))
            {
                json.WriteStringValue(element);
            }
            else
            {
                json.WriteStartObject();
                json.WriteNumber("bytes", element.Length);
                json.WriteEndObject();
            }
        }

        if (elements.Count != 1)
        {
            json.WriteEndArray();
        }
    }

    private static void Numbers(Utf8JsonWriter json, TensorDataType dataType, ReadOnlySpan<byte> bytes, int count)
    {
        if (count != 1)
        {
            json.WriteStartArray();
        }

        for (var i = 0; i < count; i++)
        {
            var element = bytes.Slice(i * dataType.ElementSize(), dataType.ElementSize());
            switch (dataType)
            {
                case TensorDataType.Fp32: Number(json, BitConverter.ToSingle(element)); break;
                case TensorDataType.Fp16: Number(json, (float)BitConverter.ToHalf(element)); break;
                case TensorDataType.Fp64:
                    var value = BitConverter.ToDouble(element);
                    if (double.IsFinite(value))
                    {
                        json.WriteNumberValue(value);
                    }
                    else
                    {
                        json.WriteNullValue();
                    }

                    break;
                case TensorDataType.Bool or TensorDataType.UInt8: json.WriteNumberValue(element[0]); break;
                case TensorDataType.Int8: json.WriteNumberValue((sbyte)element[0]); break;
                case TensorDataType.Int16: json.WriteNumberValue(BitConverter.ToInt16(element)); break;
                case TensorDataType.UInt16: json.WriteNumberValue(BitConverter.ToUInt16(element)); break;
                case TensorDataType.Int32: json.WriteNumberValue(BitConverter.ToInt32(element)); break;
                case TensorDataType.UInt32: json.WriteNumberValue(BitConverter.ToUInt32(element)); break;
                case TensorDataType.Int64: json.WriteNumberValue(BitConverter.ToInt64(element)); break;
                case TensorDataType.UInt64: json.WriteNumberValue(BitConverter.ToUInt64(element)); break;
                default: throw new InvalidOperationException(dataType.ToString());
            }
        }

        if (count != 1)
        {
            json.WriteEndArray();
        }
    }

    private static void Number(Utf8JsonWriter json, float value)
    {
        if (float.IsFinite(value))
        {
            json.WriteNumberValue(value);
        }
        else
        {
            json.WriteNullValue();
        }
    }
}

using System.Buffers;
using System.Globalization;
using System.Text.Json;
using System.Text.Unicode;
using Serverless.Inference.Protocol;
using Serverless.Inference.Runtime;

namespace Serverless.Inference.Monitoring;

/// <summary>
/// Serialises one capture record (one row) into a reused buffer: the fixed fields, then each value as the row's
/// slice, flattened. A value that would take the line past the record limit is left out and listed in "truncated".
/// One per thread, so the request path allocates nothing per record beyond what the id and names need.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage(
    "Reliability",
    "CA1001:Types that own disposable fields should be disposable",
    Justification = "One per thread for the thread's life; its JSON writers hold only managed buffers.")]
internal sealed class CaptureRecordWriter
{
    // Room kept for the closing brackets, the newline and the lists that follow the values.
    private const int ClosingBytes = 32;

    [ThreadStatic]
    private static CaptureRecordWriter? _current;

    private readonly ArrayBufferWriter<byte> _line = new(4096);
    private readonly ArrayBufferWriter<byte> _value = new(4096);
    private readonly Utf8JsonWriter _lineJson;
    private readonly Utf8JsonWriter _valueJson;
    private readonly List<string> _truncated = [];
    private int _limit;
    private int _reserve;

    private CaptureRecordWriter()
    {
        _lineJson = new Utf8JsonWriter(_line, InferResponseWriter.WriterOptions);
        _valueJson = new Utf8JsonWriter(_value, InferResponseWriter.WriterOptions);
    }

    public static CaptureRecordWriter Current => _current ??= new CaptureRecordWriter();

    /// <summary>Starts a record with its fixed fields.</summary>
    /// <param name="reserve">Bytes kept free for the names the record may still list (redacted, truncated).</param>
    /// <returns>False when the fixed fields alone pass <paramref name="limit"/>: the record cannot be written.</returns>
    public bool Begin(in CaptureRecordHeader header, int limit, int reserve)
    {
        _line.ResetWrittenCount();
        _lineJson.Reset();
        _truncated.Clear();
        _limit = limit;
        _reserve = reserve + ClosingBytes;

        Span<byte> time = stackalloc byte[32];
        header.Time.UtcDateTime.TryFormat(time, out var timeLength, "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        _lineJson.WriteStartObject();
        _lineJson.WriteString("time"u8, time[..timeLength]);
        _lineJson.WriteString("model"u8, header.Model);
        _lineJson.WriteString("version"u8, header.Version);
        _lineJson.WriteString("identity"u8, header.Identity);
        _lineJson.WriteString("source"u8, header.Source);
        _lineJson.WriteString("id"u8, header.Id);
        _lineJson.WriteNumber("row"u8, header.Row);
        _lineJson.Flush();
        return _line.WrittenCount + _reserve <= _limit;
    }

    public void BeginSection(ReadOnlySpan<byte> name) => _lineJson.WriteStartObject(name);

    public void EndSection() => _lineJson.WriteEndObject();

    /// <summary>Elements <paramref name="first"/> to <paramref name="first"/> + <paramref name="count"/> of a request tensor.</summary>
    public void Value(InputTensor tensor, int first, int count)
    {
        if (!Fits(tensor.Name, tensor.DataType, count, tensor.Strings, first))
        {
            return;
        }

        _value.ResetWrittenCount();
        _valueJson.Reset();
        if (tensor.DataType == TensorDataType.Bytes)
        {
            WriteStrings(_valueJson, tensor.Strings.AsSpan(first, count));
        }
        else
        {
            var size = tensor.DataType.ElementSize();
            WriteNumbers(_valueJson, tensor.DataType, tensor.Bytes.Slice(first * size, count * size), count);
        }

        Commit(tensor.Name);
    }

    /// <summary>Elements <paramref name="first"/> to <paramref name="first"/> + <paramref name="count"/> of an output.</summary>
    public void Value(OutputTensor tensor, int first, int count)
    {
        if (!Fits(tensor.Name, tensor.DataType, count, null, 0))
        {
            return;
        }

        _value.ResetWrittenCount();
        _valueJson.Reset();
        if (tensor.DataType == TensorDataType.Bytes)
        {
            if (count != 1)
            {
                _valueJson.WriteStartArray();
            }

            for (var i = 0; i < count; i++)
            {
                WriteString(_valueJson, tensor.GetBytes(first + i));
            }

            if (count != 1)
            {
                _valueJson.WriteEndArray();
            }
        }
        else
        {
            var size = tensor.DataType.ElementSize();
            WriteNumbers(_valueJson, tensor.DataType, tensor.Bytes.Slice(first * size, count * size), count);
        }

        Commit(tensor.Name);
    }

    /// <summary>Ends the record: the lists of names left out, the closing brace and the newline.</summary>
    public ReadOnlySpan<byte> End(IReadOnlyList<string> redacted)
    {
        WriteNames("redacted"u8, redacted);
        WriteNames("truncated"u8, _truncated);
        _lineJson.WriteEndObject();
        _lineJson.Flush();
        _line.Write("\n"u8);
        return _line.WrittenSpan;
    }

    private void WriteNames(ReadOnlySpan<byte> property, IReadOnlyList<string> names)
    {
        if (names.Count == 0)
        {
            return;
        }

        _lineJson.WriteStartArray(property);
        foreach (var name in names)
        {
            _lineJson.WriteStringValue(name);
        }

        _lineJson.WriteEndArray();
    }

    /// <summary>Rules out, before writing it, a value that cannot fit: every element takes at least two bytes, a string its own length.</summary>
    private bool Fits(string name, TensorDataType dataType, int count, byte[][]? strings, int first)
    {
        long least = (2L * count) + name.Length + 4;
        if (strings is not null)
        {
            foreach (var element in strings.AsSpan(first, count))
            {
                least += element.Length;
            }
        }

        _lineJson.Flush();
        if (_line.WrittenCount + least + _reserve <= _limit)
        {
            return true;
        }

        _truncated.Add(name);
        return false;
    }

    private void Commit(string name)
    {
        _valueJson.Flush();
        _lineJson.Flush();
        // The name, quotes, colon and comma; escaping can only make the name longer, which the reserve covers.
        if (_line.WrittenCount + _value.WrittenCount + name.Length + 4 + _reserve > _limit)
        {
            _truncated.Add(name);
            return;
        }

        _lineJson.WritePropertyName(name);
        _lineJson.WriteRawValue(_value.WrittenSpan, skipInputValidation: true);
    }

    private static void WriteStrings(Utf8JsonWriter json, ReadOnlySpan<byte[]> elements)
    {
        if (elements.Length == 1)
        {
            WriteString(json, elements[0]);
            return;
        }

        json.WriteStartArray();
        foreach (var element in elements)
        {
            WriteString(json, element);
        }

        json.WriteEndArray();
    }

    private static void WriteString(Utf8JsonWriter json, ReadOnlySpan<byte> element)
    {
        if (Utf8.IsValid(element))
        {
            json.WriteStringValue(element);
            return;
        }

        json.WriteStartObject();
        json.WriteNumber("bytes"u8, element.Length);
        json.WriteEndObject();
    }

    private static void WriteNumbers(Utf8JsonWriter json, TensorDataType dataType, ReadOnlySpan<byte> bytes, int count)
    {
        if (count != 1)
        {
            json.WriteStartArray();
        }

        switch (dataType)
        {
            case TensorDataType.Fp32: Floats(json, Cast<float>(bytes)); break;
            case TensorDataType.Fp64: Doubles(json, Cast<double>(bytes)); break;
            case TensorDataType.Fp16:
                foreach (var value in Cast<Half>(bytes))
                {
                    Floats(json, [(float)value]);
                }

                break;
            case TensorDataType.Bool or TensorDataType.UInt8: Integers(json, bytes); break;
            case TensorDataType.Int8: Integers(json, Cast<sbyte>(bytes)); break;
            case TensorDataType.Int16: Integers(json, Cast<short>(bytes)); break;
            case TensorDataType.UInt16: Integers(json, Cast<ushort>(bytes)); break;
            case TensorDataType.Int32: Integers(json, Cast<int>(bytes)); break;
            case TensorDataType.UInt32: Integers(json, Cast<uint>(bytes)); break;
            case TensorDataType.Int64: Integers(json, Cast<long>(bytes)); break;
            case TensorDataType.UInt64:
                foreach (var value in Cast<ulong>(bytes))
                {
                    json.WriteNumberValue(value);
                }

                break;
            default: throw new InvalidOperationException($"{dataType} is not a numeric type");
        }

        if (count != 1)
        {
            json.WriteEndArray();
        }
    }

    private static ReadOnlySpan<T> Cast<T>(ReadOnlySpan<byte> bytes)
        where T : unmanaged => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, T>(bytes);

    // JSON has no NaN or infinity: null, as the response writer does.
    private static void Floats(Utf8JsonWriter json, ReadOnlySpan<float> values)
    {
        foreach (var value in values)
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

    private static void Doubles(Utf8JsonWriter json, ReadOnlySpan<double> values)
    {
        foreach (var value in values)
        {
            if (double.IsFinite(value))
            {
                json.WriteNumberValue(value);
            }
            else
            {
                json.WriteNullValue();
            }
        }
    }

    private static void Integers<T>(Utf8JsonWriter json, ReadOnlySpan<T> values)
        where T : unmanaged, IConvertible
    {
        foreach (var value in values)
        {
            json.WriteNumberValue(value.ToInt64(CultureInfo.InvariantCulture));
        }
    }
}

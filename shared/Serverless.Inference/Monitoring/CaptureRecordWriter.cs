using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Serverless.Inference.Protocol;
using Serverless.Inference.Runtime;

namespace Serverless.Inference.Monitoring;

/// <summary>
/// Serialises one capture record (one row) into a reused buffer: the fixed fields, then each value as the row's
/// slice, flattened. A value that would take the line past the record limit is left out and listed in "truncated".
/// One per thread. It writes the bytes itself, as <see cref="Utf8JsonWriter"/> with the response writer's options
/// would (the fields that never change per model come pre-encoded from <see cref="CaptureRecordFields"/>; numbers are
/// formatted as the writer formats them; a string that needs escaping goes through a writer), because this runs on
/// the request's thread and the writer's per-call checks were most of capture's cost there.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage(
    "Reliability",
    "CA1001:Types that own disposable fields should be disposable",
    Justification = "One per thread for the thread's life; its JSON writer holds only managed buffers.")]
internal sealed class CaptureRecordWriter
{
    // Room kept for the closing brackets, the newline and the lists that follow the values.
    private const int ClosingBytes = 32;

    // The longest number text: a double such as -1.7976931348623157E+308, a long, a ulong.
    private const int NumberBytes = 32;

    [ThreadStatic]
    private static CaptureRecordWriter? _current;

    private readonly ArrayBufferWriter<byte> _escaped = new(256);
    private readonly Utf8JsonWriter _escaper;
    private readonly List<string> _truncated = [];
    private byte[] _line = new byte[4096];
    private int _length;
    private bool _firstInSection;
    private int _limit;
    private int _reserve;

    private CaptureRecordWriter() => _escaper = new Utf8JsonWriter(_escaped, InferResponseWriter.WriterOptions);

    public static CaptureRecordWriter Current => _current ??= new CaptureRecordWriter();

    /// <summary>Starts a record with its fixed fields.</summary>
    /// <param name="fields">The model's pre-encoded model, version, identity and source.</param>
    /// <param name="reserve">Bytes kept free for the names the record may still list (redacted, truncated).</param>
    /// <returns>False when the fixed fields alone pass <paramref name="limit"/>: the record cannot be written.</returns>
    public bool Begin(DateTimeOffset time, ReadOnlySpan<byte> fields, string id, int row, int limit, int reserve)
    {
        _length = 0;
        _truncated.Clear();
        _limit = limit;
        _reserve = reserve + ClosingBytes;

        Append("{\"time\":\""u8);
        WriteTime(time.UtcDateTime);
        Append("\","u8);
        Append(fields);
        Append(",\"id\":"u8);
        WriteString(id);
        Append(",\"row\":"u8);
        WriteInteger(row);
        return _length + _reserve <= _limit;
    }

    public void BeginSection(ReadOnlySpan<byte> name)
    {
        Append(","u8);
        WriteName(name);
        Append("{"u8);
        _firstInSection = true;
    }

    public void EndSection() => Append("}"u8);

    /// <summary>Elements <paramref name="first"/> to <paramref name="first"/> + <paramref name="count"/> of a request tensor.</summary>
    /// <param name="name">The tensor's name, pre-encoded as a property name (quoted, with its colon).</param>
    public void Value(InputTensor tensor, ReadOnlySpan<byte> name, int first, int count)
    {
        if (!Fits(tensor.Name, count, tensor.Strings, first))
        {
            return;
        }

        var start = StartValue(name, out var valueStart);
        if (tensor.DataType == TensorDataType.Bytes)
        {
            WriteStrings(tensor.Strings.AsSpan(first, count));
        }
        else
        {
            var size = tensor.DataType.ElementSize();
            WriteNumbers(tensor.DataType, tensor.Bytes.Slice(first * size, count * size), count);
        }

        EndValue(tensor.Name, start, valueStart);
    }

    /// <summary>Elements <paramref name="first"/> to <paramref name="first"/> + <paramref name="count"/> of an output.</summary>
    /// <param name="name">The output's name, pre-encoded as a property name (quoted, with its colon).</param>
    public void Value(OutputTensor tensor, ReadOnlySpan<byte> name, int first, int count)
    {
        if (!Fits(tensor.Name, count, null, 0))
        {
            return;
        }

        var start = StartValue(name, out var valueStart);
        if (tensor.DataType == TensorDataType.Bytes)
        {
            if (count != 1)
            {
                Append("["u8);
            }

            for (var i = 0; i < count; i++)
            {
                if (i > 0)
                {
                    Append(","u8);
                }

                WriteString(tensor.GetBytes(first + i));
            }

            if (count != 1)
            {
                Append("]"u8);
            }
        }
        else
        {
            var size = tensor.DataType.ElementSize();
            WriteNumbers(tensor.DataType, tensor.Bytes.Slice(first * size, count * size), count);
        }

        EndValue(tensor.Name, start, valueStart);
    }

    /// <summary>Ends the record: the lists of names left out, the closing brace and the newline.</summary>
    public ReadOnlySpan<byte> End(IReadOnlyList<string> redacted)
    {
        WriteNames("redacted"u8, redacted);
        WriteNames("truncated"u8, _truncated);
        Append("}\n"u8);
        return _line.AsSpan(0, _length);
    }

    /// <summary>A JSON string's bytes as the response writer's options escape it, for the fields encoded once per model.</summary>
    internal static byte[] Encode(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer, InferResponseWriter.WriterOptions))
        {
            write(json);
        }

        return buffer.WrittenSpan.ToArray();
    }

    private void WriteNames(ReadOnlySpan<byte> property, IReadOnlyList<string> names)
    {
        if (names.Count == 0)
        {
            return;
        }

        Append(","u8);
        WriteName(property);
        Append("["u8);
        for (var i = 0; i < names.Count; i++)
        {
            if (i > 0)
            {
                Append(","u8);
            }

            WriteString(names[i]);
        }

        Append("]"u8);
    }

    /// <summary>Rules out, before writing it, a value that cannot fit: every element takes at least two bytes, a string its own length.</summary>
    private bool Fits(string name, int count, byte[][]? strings, int first)
    {
        long least = (2L * count) + name.Length + 4;
        if (strings is not null)
        {
            foreach (var element in strings.AsSpan(first, count))
            {
                least += element.Length;
            }
        }

        if (_length + least + _reserve <= _limit)
        {
            return true;
        }

        _truncated.Add(name);
        return false;
    }

    /// <summary>Writes the separator and the name, and returns where the property began (to take it back if it does not fit).</summary>
    private int StartValue(ReadOnlySpan<byte> name, out int valueStart)
    {
        var start = _length;
        if (!_firstInSection)
        {
            Append(","u8);
        }

        Append(name);
        valueStart = _length;
        return start;
    }

    private void EndValue(string name, int start, int valueStart)
    {
        // The name, quotes, colon and comma; escaping can only make the name longer, which the reserve covers.
        if (start + (_length - valueStart) + name.Length + 4 + _reserve > _limit)
        {
            _length = start;
            _truncated.Add(name);
            return;
        }

        _firstInSection = false;
    }

    private void WriteName(ReadOnlySpan<byte> name)
    {
        Append("\""u8);
        Append(name);
        Append("\":"u8);
    }

    private void WriteTime(DateTime utc)
    {
        // yyyy-MM-ddTHH:mm:ss.fffZ, as "yyyy-MM-dd'T'HH:mm:ss.fff'Z'" formats it (milliseconds truncated, not rounded).
        var span = Room(24);
        Digits(span, utc.Year, 4);
        span[4] = (byte)'-';
        Digits(span[5..], utc.Month, 2);
        span[7] = (byte)'-';
        Digits(span[8..], utc.Day, 2);
        span[10] = (byte)'T';
        Digits(span[11..], utc.Hour, 2);
        span[13] = (byte)':';
        Digits(span[14..], utc.Minute, 2);
        span[16] = (byte)':';
        Digits(span[17..], utc.Second, 2);
        span[19] = (byte)'.';
        Digits(span[20..], utc.Millisecond, 3);
        span[23] = (byte)'Z';
        _length += 24;
    }

    private static void Digits(Span<byte> span, int value, int count)
    {
        for (var i = count - 1; i >= 0; i--)
        {
            span[i] = (byte)('0' + (value % 10));
            value /= 10;
        }
    }

    private void WriteStrings(ReadOnlySpan<byte[]> elements)
    {
        if (elements.Length == 1)
        {
            WriteString(elements[0]);
            return;
        }

        Append("["u8);
        for (var i = 0; i < elements.Length; i++)
        {
            if (i > 0)
            {
                Append(","u8);
            }

            WriteString(elements[i]);
        }

        Append("]"u8);
    }

    private void WriteString(ReadOnlySpan<byte> element)
    {
        if (!Utf8.IsValid(element))
        {
            Append("{\"bytes\":"u8);
            WriteInteger(element.Length);
            Append("}"u8);
            return;
        }

        if (InferResponseWriter.WriterOptions.Encoder!.FindFirstCharacterToEncodeUtf8(element) < 0)
        {
            // What the writer does with a string its encoder leaves alone: the bytes as they are, in quotes.
            Append("\""u8);
            Append(element);
            Append("\""u8);
            return;
        }

        _escaped.ResetWrittenCount();
        _escaper.Reset();
        _escaper.WriteStringValue(element);
        _escaper.Flush();
        Append(_escaped.WrittenSpan);
    }

    private void WriteString(string value)
    {
        if (Ascii.IsValid(value))
        {
            var span = Room(value.Length + 2);
            Ascii.FromUtf16(value, span[1..], out _);
            if (InferResponseWriter.WriterOptions.Encoder!.FindFirstCharacterToEncodeUtf8(span.Slice(1, value.Length)) < 0)
            {
                span[0] = (byte)'"';
                span[value.Length + 1] = (byte)'"';
                _length += value.Length + 2;
                return;
            }
        }

        _escaped.ResetWrittenCount();
        _escaper.Reset();
        _escaper.WriteStringValue(value);
        _escaper.Flush();
        Append(_escaped.WrittenSpan);
    }

    private void WriteNumbers(TensorDataType dataType, ReadOnlySpan<byte> bytes, int count)
    {
        if (count != 1)
        {
            Append("["u8);
        }

        switch (dataType)
        {
            case TensorDataType.Fp32: Floats(Cast<float>(bytes)); break;
            case TensorDataType.Fp64: Doubles(Cast<double>(bytes)); break;
            case TensorDataType.Fp16: Halves(Cast<Half>(bytes)); break;
            case TensorDataType.Bool or TensorDataType.UInt8: Integers(bytes); break;
            case TensorDataType.Int8: Integers(Cast<sbyte>(bytes)); break;
            case TensorDataType.Int16: Integers(Cast<short>(bytes)); break;
            case TensorDataType.UInt16: Integers(Cast<ushort>(bytes)); break;
            case TensorDataType.Int32: Integers(Cast<int>(bytes)); break;
            case TensorDataType.UInt32: Integers(Cast<uint>(bytes)); break;
            case TensorDataType.Int64: Integers(Cast<long>(bytes)); break;
            case TensorDataType.UInt64: Integers(Cast<ulong>(bytes)); break;
            default: throw new InvalidOperationException($"{dataType} is not a numeric type");
        }

        if (count != 1)
        {
            Append("]"u8);
        }
    }

    private static ReadOnlySpan<T> Cast<T>(ReadOnlySpan<byte> bytes)
        where T : unmanaged => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, T>(bytes);

    // JSON has no NaN or infinity: null, as the response writer does. Finite values in the writer's own format (the
    // shortest text that reads back as the same value, invariant culture).
    private void Floats(ReadOnlySpan<float> values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            Separate(i);
            Float(values[i]);
        }
    }

    private void Halves(ReadOnlySpan<Half> values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            Separate(i);
            Float((float)values[i]);
        }
    }

    private void Float(float value)
    {
        if (!float.IsFinite(value))
        {
            Append("null"u8);
            return;
        }

        value.TryFormat(Room(NumberBytes), out var written, default, CultureInfo.InvariantCulture);
        _length += written;
    }

    private void Doubles(ReadOnlySpan<double> values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            Separate(i);
            if (!double.IsFinite(values[i]))
            {
                Append("null"u8);
                continue;
            }

            values[i].TryFormat(Room(NumberBytes), out var written, default, CultureInfo.InvariantCulture);
            _length += written;
        }
    }

    private void Integers<T>(ReadOnlySpan<T> values)
        where T : unmanaged, IUtf8SpanFormattable
    {
        for (var i = 0; i < values.Length; i++)
        {
            Separate(i);
            values[i].TryFormat(Room(NumberBytes), out var written, default, CultureInfo.InvariantCulture);
            _length += written;
        }
    }

    private void WriteInteger(int value)
    {
        value.TryFormat(Room(NumberBytes), out var written, default, CultureInfo.InvariantCulture);
        _length += written;
    }

    private void Separate(int index)
    {
        if (index > 0)
        {
            Append(","u8);
        }
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(Room(bytes.Length));
        _length += bytes.Length;
    }

    /// <summary>At least <paramref name="bytes"/> free bytes after the line, growing it when needed.</summary>
    private Span<byte> Room(int bytes)
    {
        if (_line.Length - _length < bytes)
        {
            Array.Resize(ref _line, Math.Max(_line.Length * 2, _length + bytes));
        }

        return _line.AsSpan(_length);
    }
}

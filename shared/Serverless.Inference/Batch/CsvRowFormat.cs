using System.Buffers.Text;
using System.Globalization;
using System.Text;
using System.Text.Unicode;
using Serverless.Inference.Protocol;
using Serverless.Inference.Runtime;

namespace Serverless.Inference.Batch;

/// <summary>
/// CSV with a header. An input of one value per row reads the column of its own name; a wider input
/// reads the columns its manifest entry lists (<c>"columns"</c>) or <c>name[0]</c>, <c>name[1]</c>, ....
/// A BYTES input of one value per row may instead come from a column <c>name_key</c>: a key in the file's store.
/// Results are the input record with the prediction columns and an <c>error</c> column appended.
/// </summary>
internal sealed class CsvRowFormat(IReadOnlyList<BatchColumn> columns, IReadOnlyList<TensorSpec> outputs) : RowFormat(columns, outputs)
{
    private readonly List<(int Start, int Length, bool Quoted)> _fields = [];
    private readonly byte[] _scratch = new byte[256];
    private int[][] _sources = [];
    private bool[] _byKey = [];
    private int _headerFields;

    public override bool HasHeader => true;

    public override void ReadHeader(ReadOnlySpan<byte> record, PooledBufferWriter output)
    {
        if (!Utf8.IsValid(record))
        {
            throw InferenceException.BadRequest("the CSV header is not valid UTF-8");
        }

        Split(record);
        var names = new List<string>(_fields.Count);
        for (var i = 0; i < _fields.Count; i++)
        {
            names.Add(Encoding.UTF8.GetString(Field(record, i, out _)).Trim());
        }

        _headerFields = names.Count;
        var mapped = Columns.Select(column => MapColumn(column, names)).ToList();
        _sources = [.. mapped.Select(m => m.Sources)];
        _byKey = [.. mapped.Select(m => m.ByKey)];

        output.Write(record);
        foreach (var name in OutputColumnNames())
        {
            output.Write(","u8);
            WriteText(output, Encoding.UTF8.GetBytes(name));
        }

        output.Write(",error\n"u8);
    }

    public override RowKind Parse(ReadOnlySpan<byte> record, long line, MicroBatch? batch)
    {
        if (!Utf8.IsValid(record))
        {
            throw InferenceException.BadRequest("the row is not valid UTF-8");
        }

        if (record.IsEmpty)
        {
            return RowKind.Blank;
        }

        ArgumentNullException.ThrowIfNull(batch);
        Split(record);
        if (_fields.Count != _headerFields)
        {
            throw InferenceException.BadRequest($"the row has {_fields.Count} fields but the header has {_headerFields}");
        }

        for (var c = 0; c < Columns.Count; c++)
        {
            var column = Columns[c];
            var offset = batch.SlotOffset(c);
            for (var j = 0; j < column.RowElements; j++)
            {
                var field = Field(record, _sources[c][j], out var name);
                if (column.Spec.DataType == TensorDataType.Bytes)
                {
                    batch.Strings(c)![offset + j] = field.ToArray();
                    if (_byKey[c])
                    {
                        batch.MarkKey(c, offset + j);
                    }
                }
                else
                {
                    ParseNumber(field, name, column.Spec.DataType, batch.Numbers(c)!, offset + j);
                }
            }
        }

        batch.Commit(line);
        return RowKind.Row;
    }

    public override void WriteRow(PooledBufferWriter output, long line, ReadOnlySpan<byte> record, ModelOutputs outputs, int row, int rows)
    {
        output.Write(record);
        foreach (var tensor in outputs.Tensors)
        {
            var (start, count) = RowSlice(tensor, row, rows);
            for (var i = start; i < start + count; i++)
            {
                output.Write(","u8);
                WriteValue(output, tensor, i);
            }
        }

        output.Write(",\n"u8);
    }

    public override void WriteError(PooledBufferWriter output, long line, ReadOnlySpan<byte> record, string error)
    {
        // The record is kept as it came (when it is text), padded or cut to the header's width so the error stays in its column.
        var written = 1;
        if (Utf8.IsValid(record))
        {
            Split(record);
            written = Math.Min(_fields.Count, _headerFields);
            output.Write(_fields.Count > _headerFields ? record[..(_fields[_headerFields].Start - 1)] : record);
        }

        for (var i = written; i < _headerFields; i++)
        {
            output.Write(","u8);
        }

        foreach (var _ in OutputColumnNames())
        {
            output.Write(","u8);
        }

        output.Write(","u8);
        WriteText(output, Encoding.UTF8.GetBytes($"line {line}: {error}"));
        output.Write("\n"u8);
    }

    private IEnumerable<string> OutputColumnNames()
    {
        foreach (var output in Outputs)
        {
            var perRow = output.Shape.Skip(1).Aggregate(1L, (p, d) => p * d);
            if (perRow < 0 || output.Shape.Skip(1).Any(d => d < 0))
            {
                throw InferenceException.BadRequest($"output '{output.Name}' has a dynamic size per row ({output}); use JSON lines for this model");
            }

            if (perRow == 1)
            {
                yield return output.Name;
            }
            else
            {
                for (var i = 0; i < perRow; i++)
                {
                    yield return $"{output.Name}[{i}]";
                }
            }
        }
    }

    private static (int[] Sources, bool ByKey) MapColumn(BatchColumn column, List<string> header)
    {
        var name = column.Spec.Name;
        if (column.Spec.DataType == TensorDataType.Bytes && column.RowElements == 1 && column.CsvColumns is not { Count: > 0 }
            && !header.Contains(name) && header.IndexOf(name + MicroBatch.KeySuffix) is >= 0 and var keyColumn)
        {
            return ([keyColumn], true);
        }

        IReadOnlyList<string> wanted = column.CsvColumns is { Count: > 0 } listed
            ? listed
            : column.RowElements == 1 ? [name] : [.. Enumerable.Range(0, column.RowElements).Select(i => $"{name}[{i}]")];
        if (wanted.Count != column.RowElements)
        {
            throw InferenceException.BadRequest($"model.json lists {wanted.Count} columns for input '{name}', which takes {column.RowElements} values per row");
        }

        var missing = wanted.Where(w => !header.Contains(w)).ToList();
        return missing.Count == 0
            ? ([.. wanted.Select(w => header.IndexOf(w))], false)
            : throw InferenceException.BadRequest(
                $"the CSV header has no column(s) {string.Join(", ", missing.Select(m => $"'{m}'"))} for input '{name}' (header: {string.Join(", ", header)})");
    }

    /// <summary>RFC 4180 field boundaries: commas outside quotes end a field; a quote opens quoting only at a field's start.</summary>
    private void Split(ReadOnlySpan<byte> record)
    {
        _fields.Clear();
        var start = 0;
        var quoted = false;
        var inQuotes = false;
        var justClosed = false;
        for (var i = 0; i < record.Length; i++)
        {
            var c = record[i];
            if (inQuotes)
            {
                inQuotes = c != (byte)'"';
                justClosed = !inQuotes;
                continue;
            }

            if (c == (byte)'"' && (i == start || justClosed))
            {
                quoted |= i == start;
                inQuotes = true;
                continue;
            }

            if (c == (byte)',')
            {
                _fields.Add((start, i - start, quoted));
                start = i + 1;
                quoted = false;
            }

            justClosed = false;
        }

        _fields.Add((start, record.Length - start, quoted));
    }

    private ReadOnlySpan<byte> Field(ReadOnlySpan<byte> record, int index, out int fieldIndex)
    {
        fieldIndex = index;
        var (start, length, quoted) = _fields[index];
        var raw = record.Slice(start, length);
        if (!quoted)
        {
            return raw;
        }

        var inner = raw.Length >= 2 ? raw[1..^1] : [];
        if (inner.IndexOf((byte)'"') < 0)
        {
            return inner;
        }

        var unescaped = inner.Length <= _scratch.Length ? _scratch.AsSpan() : new byte[inner.Length];
        var n = 0;
        for (var i = 0; i < inner.Length; i++)
        {
            unescaped[n++] = inner[i];
            if (inner[i] == (byte)'"' && i + 1 < inner.Length && inner[i + 1] == (byte)'"')
            {
                i++;
            }
        }

        return unescaped[..n];
    }

    private static void ParseNumber(ReadOnlySpan<byte> field, int fieldIndex, TensorDataType dataType, byte[] target, int at)
    {
        var text = field.Trim(" "u8);
        var ok = dataType switch
        {
            TensorDataType.Bool => ParseBool(text, target, at),
            TensorDataType.Fp32 => Put(target, at, float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var f) && float.IsFinite(f), f),
            TensorDataType.Fp64 => Put(target, at, double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d), d),
            TensorDataType.Fp16 => Put(target, at, float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var h) && Half.IsFinite((Half)h), (Half)h),
            TensorDataType.Int8 => Put(target, at, sbyte.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i8), i8),
            TensorDataType.Int16 => Put(target, at, short.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i16), i16),
            TensorDataType.Int32 => Put(target, at, int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i32), i32),
            TensorDataType.Int64 => Put(target, at, long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i64), i64),
            TensorDataType.UInt8 => Put(target, at, byte.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var u8), u8),
            TensorDataType.UInt16 => Put(target, at, ushort.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var u16), u16),
            TensorDataType.UInt32 => Put(target, at, uint.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var u32), u32),
            TensorDataType.UInt64 => Put(target, at, ulong.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var u64), u64),
            _ => false,
        };

        if (!ok)
        {
            throw InferenceException.BadRequest(
                text.IsEmpty
                    ? $"column {fieldIndex + 1} is empty but input needs a {dataType.ToProtocolName()} value"
                    : $"column {fieldIndex + 1} ('{Encoding.UTF8.GetString(text)}') is not a valid {dataType.ToProtocolName()} value");
        }
    }

    private static bool ParseBool(ReadOnlySpan<byte> text, byte[] target, int at)
    {
        if (Utf8Parser.TryParse(text, out bool value, out var consumed) && consumed == text.Length)
        {
            target[at] = value ? (byte)1 : (byte)0;
            return true;
        }

        if (text.SequenceEqual("0"u8) || text.SequenceEqual("1"u8))
        {
            target[at] = (byte)(text[0] - '0');
            return true;
        }

        return false;
    }

    private static bool Put<T>(byte[] target, int at, bool parsed, T value)
        where T : unmanaged
    {
        if (parsed)
        {
            System.Runtime.InteropServices.MemoryMarshal.Cast<byte, T>(target.AsSpan())[at] = value;
        }

        return parsed;
    }

    private static void WriteValue(PooledBufferWriter output, OutputTensor tensor, int index)
    {
        var span = output.GetSpan(64);
        int written;
        var ok = tensor.DataType switch
        {
            TensorDataType.Bool => Copy(tensor.Bytes[index] != 0 ? "true"u8 : "false"u8, span, out written),
            TensorDataType.Fp32 => tensor.AsSpan<float>()[index].TryFormat(span, out written, default, CultureInfo.InvariantCulture),
            TensorDataType.Fp64 => tensor.AsSpan<double>()[index].TryFormat(span, out written, default, CultureInfo.InvariantCulture),
            TensorDataType.Fp16 => ((float)tensor.AsSpan<Half>()[index]).TryFormat(span, out written, default, CultureInfo.InvariantCulture),
            TensorDataType.Int8 => tensor.AsSpan<sbyte>()[index].TryFormat(span, out written, default, CultureInfo.InvariantCulture),
            TensorDataType.Int16 => tensor.AsSpan<short>()[index].TryFormat(span, out written, default, CultureInfo.InvariantCulture),
            TensorDataType.Int32 => tensor.AsSpan<int>()[index].TryFormat(span, out written, default, CultureInfo.InvariantCulture),
            TensorDataType.Int64 => tensor.AsSpan<long>()[index].TryFormat(span, out written, default, CultureInfo.InvariantCulture),
            TensorDataType.UInt8 => tensor.AsSpan<byte>()[index].TryFormat(span, out written, default, CultureInfo.InvariantCulture),
            TensorDataType.UInt16 => tensor.AsSpan<ushort>()[index].TryFormat(span, out written, default, CultureInfo.InvariantCulture),
            TensorDataType.UInt32 => tensor.AsSpan<uint>()[index].TryFormat(span, out written, default, CultureInfo.InvariantCulture),
            TensorDataType.UInt64 => tensor.AsSpan<ulong>()[index].TryFormat(span, out written, default, CultureInfo.InvariantCulture),
            _ => Copy([], span, out written),
        };

        if (tensor.DataType == TensorDataType.Bytes)
        {
            WriteText(output, tensor.GetBytes(index));
            return;
        }

        output.Advance(ok ? written : 0);
    }

    private static bool Copy(ReadOnlySpan<byte> text, Span<byte> target, out int written)
    {
        text.CopyTo(target);
        written = text.Length;
        return true;
    }

    /// <summary>A text field, quoted when it holds a comma, a quote or a line break.</summary>
    private static void WriteText(PooledBufferWriter output, ReadOnlySpan<byte> text)
    {
        if (text.IndexOfAny(",\"\r\n"u8) < 0)
        {
            output.Write(text);
            return;
        }

        output.Write("\""u8);
        foreach (var b in text)
        {
            output.Write(b == (byte)'"' ? "\"\""u8 : [b]);
        }

        output.Write("\""u8);
    }
}

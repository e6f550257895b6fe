using Serverless.Inference.Runtime;

namespace Serverless.Inference.Batch;

/// <summary>How one model input is filled from a batch row: the row's shape is the input's shape without the batch dimension.</summary>
internal sealed record BatchColumn(TensorSpec Spec, long[] RowShape, int RowElements, IReadOnlyList<string>? CsvColumns)
{
    public static BatchColumn For(TensorSpec spec, IReadOnlyList<string>? csvColumns)
    {
        if (spec.Shape.Count == 0)
        {
            throw InferenceException.BadRequest($"input '{spec.Name}' is a scalar, so rows cannot be stacked into it; send OIP requests, one per line");
        }

        long[] rowShape = [.. spec.Shape.Skip(1)];
        if (rowShape.Any(d => d < 0))
        {
            throw InferenceException.BadRequest(
                $"input '{spec.Name}' has a dynamic dimension besides the batch ({spec}); plain rows need fixed sizes, so send OIP requests, one per line");
        }

        return new BatchColumn(spec, rowShape, checked((int)rowShape.Aggregate(1L, (p, d) => p * d)), csvColumns);
    }
}

/// <summary>
/// Rows stacked into reusable input buffers: a row is parsed straight into the next free slot and only
/// counts once committed, so a bad row costs nothing and a file of any length reuses the same memory.
/// </summary>
internal sealed class MicroBatch
{
    /// <summary>A row field named after a BYTES input plus this suffix holds a key naming the value, not the value.</summary>
    public const string KeySuffix = "_key";

    private readonly byte[]?[] _numbers;
    private readonly byte[][]?[] _strings;
    private readonly long[] _lines;
    private readonly List<(int Column, int Element)> _keys = [];

    public MicroBatch(IReadOnlyList<BatchColumn> columns, int capacity)
    {
        Columns = columns;
        Capacity = capacity;
        _lines = new long[capacity];
        _numbers = [.. columns.Select(c => c.Spec.DataType == TensorDataType.Bytes ? null : new byte[Math.Max(1, capacity * c.RowElements * c.Spec.DataType.ElementSize())])];
        _strings = [.. columns.Select(c => c.Spec.DataType == TensorDataType.Bytes ? new byte[capacity * c.RowElements][] : null)];
    }

    public IReadOnlyList<BatchColumn> Columns { get; }

    public int Capacity { get; }

    public int Count { get; private set; }

    public bool IsFull => Count == Capacity;

    public long LineOf(int row) => _lines[row];

    /// <summary>The buffer the row being filled writes numbers into, at element offset <see cref="SlotOffset"/>.</summary>
    public byte[]? Numbers(int column) => _numbers[column];

    public byte[][]? Strings(int column) => _strings[column];

    public int SlotOffset(int column) => Count * Columns[column].RowElements;

    /// <summary>The elements of the row last parsed that hold attachment keys, not values (see <see cref="IBatchAttachments"/>).</summary>
    public IReadOnlyList<(int Column, int Element)> Keys => _keys;

    /// <summary>Starts a row: forgets the keys of the one before.</summary>
    public void BeginRow() => _keys.Clear();

    public void MarkKey(int column, int element) => _keys.Add((column, element));

    public void Commit(long line) => _lines[Count++] = line;

    /// <summary>Takes back the last committed row, whose attachments could not be read.</summary>
    public void Uncommit() => Count--;

    public void Clear() => Count = 0;

    /// <summary>Views of the committed rows, shaped [rows, ...row shape]; valid until the batch changes.</summary>
    public List<InputTensor> Tensors() => Tensors(0, Count);

    /// <summary>One committed row on its own, to find which row of a failed batch is at fault.</summary>
    public List<InputTensor> Tensors(int firstRow, int rows)
    {
        var tensors = new List<InputTensor>(Columns.Count);
        for (var c = 0; c < Columns.Count; c++)
        {
            var column = Columns[c];
            long[] shape = [rows, .. column.RowShape];
            var count = rows * column.RowElements;
            var start = firstRow * column.RowElements;
            if (_strings[c] is { } strings)
            {
                var elements = firstRow == 0 ? strings : strings[start..(start + count)];
                tensors.Add(InputTensor.View(column.Spec.Name, TensorDataType.Bytes, shape, count, null, elements));
            }
            else if (firstRow == 0)
            {
                tensors.Add(InputTensor.View(column.Spec.Name, column.Spec.DataType, shape, count, _numbers[c], null));
            }
            else
            {
                var size = column.Spec.DataType.ElementSize();
                var tensor = InputTensor.CreateNumeric(column.Spec.Name, column.Spec.DataType, shape, count);
                _numbers[c].AsSpan(start * size, count * size).CopyTo(tensor.Bytes);
                tensors.Add(tensor);
            }
        }

        return tensors;
    }
}

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Serverless.Inference.Protocol;

namespace Serverless.Inference.Runtime;

/// <summary>The outputs of one run, owned by the caller until disposed.</summary>
internal sealed class ModelOutputs : IDisposable
{
    private readonly IDisposable? _owner;

    internal ModelOutputs(IReadOnlyList<TensorSpec> specs, IDisposableReadOnlyCollection<OrtValue> values)
        : this([.. specs.Zip(values, (spec, value) => new OutputTensor(spec.Name, spec.DataType, value))], values)
    {
    }

    /// <param name="owner">Released with the outputs: the native values behind them, if any.</param>
    /// <param name="parameters">What the run adds to the response's parameters, e.g. that a text was truncated.</param>
    public ModelOutputs(IReadOnlyList<OutputTensor> tensors, IDisposable? owner = null, IReadOnlyList<Parameter>? parameters = null)
    {
        Tensors = tensors;
        _owner = owner;
        Parameters = parameters ?? [];
    }

    /// <param name="rowCounts">Parameters that count rows (which rows of the run they counted), so a share of the run counts its own.</param>
    internal ModelOutputs(IReadOnlyList<OutputTensor> tensors, IReadOnlyList<RowCount> rowCounts)
        : this(tensors, null, [.. rowCounts.Select(count => count.ToParameter(0, int.MaxValue)).OfType<Parameter>()])
    {
        RowCounts = rowCounts;
    }

    public IReadOnlyList<OutputTensor> Tensors { get; }

    public IReadOnlyList<Parameter> Parameters { get; }

    internal IReadOnlyList<RowCount> RowCounts { get; } = [];

    public void Dispose() => _owner?.Dispose();
}

/// <summary>
/// One output: a view of a native ONNX Runtime value (valid while its <see cref="ModelOutputs"/> lives),
/// or managed data that a pipeline step produced.
/// </summary>
internal sealed class OutputTensor
{
    private readonly OrtValue? _value;
    private readonly unsafe byte* _native;
    private readonly byte[]? _data;
    private readonly byte[][]? _strings;

    // Where a share of a merged run starts: in managed data (numbers), and in either kind of BYTES elements.
    private readonly int _firstElement;
    private readonly int _firstString;

    internal unsafe OutputTensor(string name, TensorDataType dataType, OrtValue value)
    {
        Name = name;
        DataType = dataType;
        _value = value;
        var info = value.GetTensorTypeAndShape();
        Shape = info.Shape;
        ElementCount = checked((int)info.ElementCount);
        if (dataType != TensorDataType.Bytes)
        {
            // The runtime owns this memory until the value is disposed, and never moves it: asking for it once
            // spares two native calls on every element a writer reads.
            _native = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(value.GetTensorMutableRawData()));
        }
    }

    private OutputTensor(string name, TensorDataType dataType, long[] shape, int elementCount, byte[]? data, byte[][]? strings)
    {
        Name = name;
        DataType = dataType;
        Shape = shape;
        ElementCount = elementCount;
        _data = data;
        _strings = strings;
    }

    private unsafe OutputTensor(OutputTensor whole, long[] shape, int firstElement, int elementCount)
    {
        Name = whole.Name;
        DataType = whole.DataType;
        Shape = shape;
        ElementCount = elementCount;
        _value = whole._value;
        _native = whole._native is null ? null : whole._native + ((long)firstElement * DataType.ElementSize());
        _data = whole._data;
        _strings = whole._strings;
        _firstElement = whole._native is null ? whole._firstElement + firstElement : whole._firstElement;
        _firstString = whole._firstString + firstElement;
    }

    public string Name { get; }

    public TensorDataType DataType { get; }

    public long[] Shape { get; }

    public int ElementCount { get; }

    /// <summary>The little-endian element bytes of a numeric output.</summary>
    public unsafe ReadOnlySpan<byte> Bytes =>
        _value is not null
            ? new ReadOnlySpan<byte>(_native, ElementCount * DataType.ElementSize())
            : _data.AsSpan(_firstElement * DataType.ElementSize(), ElementCount * DataType.ElementSize());

    public static OutputTensor FromArray<T>(string name, TensorDataType dataType, long[] shape, T[] values)
        where T : unmanaged =>
        new(name, dataType, shape, values.Length, MemoryMarshal.AsBytes(values.AsSpan()).ToArray(), null);

    /// <param name="data">Little-endian element bytes, owned by the tensor from now on.</param>
    public static OutputTensor FromBytes(string name, TensorDataType dataType, long[] shape, int elementCount, byte[] data) =>
        new(name, dataType, shape, elementCount, data, null);

    public static OutputTensor FromStrings(string name, long[] shape, byte[][] elements) =>
        new(name, TensorDataType.Bytes, shape, elements.Length, null, elements);

    /// <summary>The elements as <typeparamref name="T"/>, which must match <see cref="DataType"/> (FP16 reads as <see cref="Half"/>).</summary>
    public ReadOnlySpan<T> AsSpan<T>()
        where T : unmanaged =>
        Unsafe.SizeOf<T>() == DataType.ElementSize()
            ? MemoryMarshal.Cast<byte, T>(Bytes)
            : throw new InvalidOperationException($"output '{Name}' is {DataType.ToProtocolName()}, not {typeof(T).Name}");

    /// <summary>One element of a BYTES output, as UTF-8 bytes.</summary>
    public ReadOnlySpan<byte> GetBytes(int index) =>
        _value is not null ? _value.GetStringElementAsSpan(_firstString + index) : _strings![_firstString + index];

    /// <summary>
    /// Rows <paramref name="firstRow"/> onwards of an output whose first dimension is the batch: a view, valid while the
    /// whole output lives.
    /// </summary>
    internal OutputTensor Rows(int firstRow, int rowCount)
    {
        var rowsInWhole = Shape[0];
        var perRow = rowsInWhole == 0 ? 0 : checked((int)(ElementCount / rowsInWhole));
        long[] shape = [rowCount, .. Shape.AsSpan(1)];
        return new OutputTensor(this, shape, firstRow * perRow, rowCount * perRow);
    }
}

/// <summary>A response parameter that counts rows of a run, e.g. the texts a tokenizer truncated.</summary>
/// <param name="Rows">The rows counted, ascending.</param>
internal sealed record RowCount(string Name, IReadOnlyList<int> Rows)
{
    /// <summary>The parameter for rows <paramref name="firstRow"/> to <paramref name="firstRow"/> + <paramref name="rowCount"/>; null when none of them counts.</summary>
    public Parameter? ToParameter(int firstRow, int rowCount)
    {
        var end = (long)firstRow + rowCount;
        var count = Rows.Count(row => row >= firstRow && row < end);
        return count == 0 ? null : new Parameter(Name, System.Text.Encoding.UTF8.GetBytes(count.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }
}

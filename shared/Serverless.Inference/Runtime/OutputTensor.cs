using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;

namespace Serverless.Inference.Runtime;

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

    // The element where a share of a merged run starts (native numbers are reached through an offset _native instead).
    private readonly int _firstElement;

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
        _firstElement = whole._firstElement + firstElement;
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
        _value is not null ? _value.GetStringElementAsSpan(_firstElement + index) : _strings![_firstElement + index];

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

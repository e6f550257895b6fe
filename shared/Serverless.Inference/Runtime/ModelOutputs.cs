using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Serverless.Inference.Protocol;

namespace Serverless.Inference.Runtime;

/// <summary>The outputs of one run, owned by the caller until disposed.</summary>
public sealed class ModelOutputs : IDisposable
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

    public IReadOnlyList<OutputTensor> Tensors { get; }

    public IReadOnlyList<Parameter> Parameters { get; }

    public void Dispose() => _owner?.Dispose();
}

/// <summary>
/// One output: a view of a native ONNX Runtime value (valid while its <see cref="ModelOutputs"/> lives),
/// or managed data that a pipeline step produced.
/// </summary>
public sealed class OutputTensor
{
    private readonly OrtValue? _value;
    private readonly unsafe byte* _native;
    private readonly byte[]? _data;
    private readonly byte[][]? _strings;

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

    public string Name { get; }

    public TensorDataType DataType { get; }

    public long[] Shape { get; }

    public int ElementCount { get; }

    /// <summary>The little-endian element bytes of a numeric output.</summary>
    public unsafe ReadOnlySpan<byte> Bytes =>
        _value is not null ? new ReadOnlySpan<byte>(_native, ElementCount * DataType.ElementSize()) : _data.AsSpan(0, ElementCount * DataType.ElementSize());

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
    public ReadOnlySpan<byte> GetBytes(int index) => _value is not null ? _value.GetStringElementAsSpan(index) : _strings![index];
}

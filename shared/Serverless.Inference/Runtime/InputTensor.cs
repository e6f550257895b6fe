using System.Buffers;
using System.Runtime.InteropServices;

namespace Serverless.Inference.Runtime;

/// <summary>
/// One request tensor: numbers as little-endian bytes in a pooled buffer (the layout ONNX Runtime and the
/// binary protocol share, so neither side converts), or BYTES elements as raw byte strings.
/// </summary>
internal sealed class InputTensor : IDisposable
{
    private readonly bool _ownsBuffer;
    private byte[]? _buffer;

    private InputTensor(string name, TensorDataType dataType, long[] shape, int elementCount, byte[]? buffer, byte[][]? strings, bool ownsBuffer = true)
    {
        Name = name;
        DataType = dataType;
        Shape = shape;
        ElementCount = elementCount;
        _buffer = buffer;
        Strings = strings;
        _ownsBuffer = ownsBuffer;
    }

    public string Name { get; }

    public TensorDataType DataType { get; }

    public long[] Shape { get; }

    public int ElementCount { get; }

    /// <summary>The elements of a BYTES tensor (the first <see cref="ElementCount"/>); null for numeric tensors.</summary>
    public byte[][]? Strings { get; }

    public int ByteLength => ElementCount * DataType.ElementSize();

    /// <summary>The raw element bytes of a numeric tensor.</summary>
    public Span<byte> Bytes => (_buffer ?? throw new ObjectDisposedException(Name)).AsSpan(0, ByteLength);

    /// <summary>The buffer behind <see cref="Bytes"/> (pooled, may be longer); valid until disposal.</summary>
    internal byte[] Buffer => _buffer ?? throw new ObjectDisposedException(Name);

    public static InputTensor CreateNumeric(string name, TensorDataType dataType, long[] shape, int elementCount)
    {
        if (dataType == TensorDataType.Bytes)
        {
            throw new ArgumentException("BYTES tensors are created with CreateBytes", nameof(dataType));
        }

        // Never a zero-length buffer: ONNX Runtime wants a real pointer even for an empty tensor.
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(1, elementCount * dataType.ElementSize()));
        return new InputTensor(name, dataType, shape, elementCount, buffer, null);
    }

    public static InputTensor CreateBytes(string name, long[] shape, byte[][] elements) =>
        new(name, TensorDataType.Bytes, shape, elements.Length, null, elements);

    /// <summary>A tensor over the first elements of a buffer someone else owns and keeps alive, such as a batch under construction.</summary>
    internal static InputTensor View(string name, TensorDataType dataType, long[] shape, int elementCount, byte[]? buffer, byte[][]? strings) =>
        new(name, dataType, shape, elementCount, buffer, strings, ownsBuffer: false);

    public static InputTensor FromArray<T>(string name, TensorDataType dataType, long[] shape, ReadOnlySpan<T> values)
        where T : unmanaged
    {
        var tensor = CreateNumeric(name, dataType, shape, values.Length);
        MemoryMarshal.AsBytes(values).CopyTo(tensor.Bytes);
        return tensor;
    }

    public Span<T> AsSpan<T>()
        where T : unmanaged => MemoryMarshal.Cast<byte, T>(Bytes);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _buffer, null) is { } buffer && _ownsBuffer)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}

using System.Runtime.InteropServices;
using Serverless.Inference.Runtime;

namespace Serverless.Inference.Pipelines;

/// <summary>A tensor between pipeline steps: managed memory, numbers as little-endian bytes, BYTES as byte strings.</summary>
internal sealed class PipelineTensor
{
    private PipelineTensor(string name, TensorDataType dataType, long[] shape, int elementCount, byte[]? data, byte[][]? strings)
    {
        Name = name;
        DataType = dataType;
        Shape = shape;
        ElementCount = elementCount;
        Data = data;
        Strings = strings;
    }

    public string Name { get; }

    public TensorDataType DataType { get; }

    public long[] Shape { get; }

    public int ElementCount { get; }

    /// <summary>The element bytes of a numeric tensor; null for BYTES.</summary>
    public byte[]? Data { get; }

    /// <summary>The elements of a BYTES tensor; null for numbers.</summary>
    public byte[][]? Strings { get; }

    public static PipelineTensor Create<T>(string name, TensorDataType dataType, long[] shape, T[] values)
        where T : unmanaged =>
        new(name, dataType, shape, values.Length, MemoryMarshal.AsBytes(values.AsSpan()).ToArray(), null);

    public static PipelineTensor Numbers(string name, TensorDataType dataType, long[] shape)
    {
        var count = checked((int)shape.Aggregate(1L, (product, d) => product * d));
        return new(name, dataType, shape, count, new byte[count * dataType.ElementSize()], null);
    }

    public static PipelineTensor Texts(string name, long[] shape, byte[][] elements) =>
        new(name, TensorDataType.Bytes, shape, elements.Length, null, elements);

    public static PipelineTensor From(InputTensor input) =>
        input.DataType == TensorDataType.Bytes
            ? new(input.Name, input.DataType, input.Shape, input.ElementCount, null, input.Strings![..input.ElementCount])
            : new(input.Name, input.DataType, input.Shape, input.ElementCount, input.Bytes.ToArray(), null);

    public static PipelineTensor From(OutputTensor output) =>
        output.DataType == TensorDataType.Bytes
            ? new(output.Name, output.DataType, output.Shape, output.ElementCount, null, [.. Enumerable.Range(0, output.ElementCount).Select(i => output.GetBytes(i).ToArray())])
            : new(output.Name, output.DataType, output.Shape, output.ElementCount, output.Bytes.ToArray(), null);

    public Span<T> AsSpan<T>()
        where T : unmanaged => MemoryMarshal.Cast<byte, T>(Data.AsSpan());

    /// <summary>The same data under another name.</summary>
    public PipelineTensor Renamed(string name) => new(name, DataType, Shape, ElementCount, Data, Strings);

    internal InputTensor ToInput() => InputTensor.View(Name, DataType, Shape, ElementCount, Data, Strings);

    internal OutputTensor ToOutput() =>
        DataType == TensorDataType.Bytes
            ? OutputTensor.FromStrings(Name, Shape, Strings!)
            : OutputTensor.FromBytes(Name, DataType, Shape, ElementCount, Data!);
}

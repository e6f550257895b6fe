using System.Buffers.Binary;
using Serverless.Inference.Runtime;

namespace Serverless.Inference.Protocol;

/// <summary>
/// The checks and the tensor building every transport applies to a request's inputs (REST's JSON and binary
/// extension, gRPC's typed and raw contents), so both refuse the same requests with the same messages.
/// </summary>
internal static class InputTensors
{
    public const int MaxRank = 16;

    private const int LengthPrefixSize = sizeof(uint);

    /// <summary>Checks an input's datatype and shape; the element count must fit in <paramref name="maxElements"/>.</summary>
    public static (TensorDataType DataType, int Count) Header(string name, string? datatypeName, long[]? shape, int maxElements)
    {
        if (datatypeName is null)
        {
            throw InferenceException.BadRequest($"input '{name}' has no 'datatype'");
        }

        if (!TensorDataTypes.TryParse(datatypeName, out var dataType))
        {
            throw InferenceException.BadRequest(
                $"input '{name}' has an unknown datatype '{datatypeName}' (known: BOOL, INT8, INT16, INT32, INT64, UINT8, UINT16, UINT32, UINT64, FP16, FP32, FP64, BYTES)");
        }

        if (shape is null)
        {
            throw InferenceException.BadRequest($"input '{name}' has no 'shape'");
        }

        if (shape.Length > MaxRank)
        {
            throw InferenceException.BadRequest($"'shape' has more than {MaxRank} dimensions");
        }

        var count = ElementCount(name, shape);

        // Every element takes at least one byte of the request, so a shape larger than the request cannot be honest.
        return count <= maxElements
            ? (dataType, (int)count)
            : throw InferenceException.BadRequest(
                $"input '{name}' has shape [{string.Join(',', shape)}] ({count} elements), more than the request could hold");
    }

    /// <summary>
    /// An input from its raw little-endian bytes, as the binary tensor data extension and gRPC's raw contents both
    /// lay them out: numbers back to back, a BYTES element as a 4-byte little-endian length and that many bytes.
    /// </summary>
    public static InputTensor FromRaw(string name, TensorDataType dataType, long[] shape, long count, ReadOnlySpan<byte> data, RawEncoding encoding)
    {
        if (dataType == TensorDataType.Bytes)
        {
            if (count > data.Length / LengthPrefixSize)
            {
                throw InferenceException.BadRequest($"input '{name}' has {count} BYTES elements but only {data.Length} bytes of {encoding.DataName}");
            }

            var elements = new byte[count][];
            var offset = 0;
            for (var i = 0; i < count; i++)
            {
                if (data.Length - offset < LengthPrefixSize)
                {
                    throw InferenceException.BadRequest($"input '{name}' {encoding.DataName} ends inside element {i}");
                }

                var length = BinaryPrimitives.ReadUInt32LittleEndian(data[offset..]);
                offset += LengthPrefixSize;
                if (length > (uint)(data.Length - offset))
                {
                    throw InferenceException.BadRequest($"input '{name}' element {i} claims {length} bytes but only {data.Length - offset} remain");
                }

                elements[i] = data.Slice(offset, (int)length).ToArray();
                offset += (int)length;
            }

            return offset == data.Length
                ? InputTensor.CreateBytes(name, shape, elements)
                : throw InferenceException.BadRequest($"input '{name}' has {data.Length - offset} bytes of {encoding.DataName} beyond its {count} elements");
        }

        var expected = count * dataType.ElementSize();
        if (expected != data.Length)
        {
            throw InferenceException.BadRequest(
                $"input '{name}' has {encoding.SizeName} {data.Length} but shape [{string.Join(',', shape)}] of {dataType.ToProtocolName()} needs {expected} bytes");
        }

        var tensor = InputTensor.CreateNumeric(name, dataType, shape, (int)count);
        data.CopyTo(tensor.Bytes);
        if (dataType == TensorDataType.Bool)
        {
            foreach (ref var value in tensor.Bytes)
            {
                value = value == 0 ? (byte)0 : (byte)1;
            }
        }

        return tensor;
    }

    /// <summary>The request-wide rules: at least one input, no input or output named twice.</summary>
    public static void CheckRequest(IReadOnlyCollection<InputTensor> inputs, IEnumerable<RequestedOutput> outputs)
    {
        if (inputs.Count == 0)
        {
            throw InferenceException.BadRequest("the request has no 'inputs'");
        }

        var duplicate = outputs.GroupBy(o => o.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw InferenceException.BadRequest($"output '{duplicate.Key}' is requested more than once");
        }
    }

    private static long ElementCount(string name, long[] shape)
    {
        var count = 1L;
        foreach (var dimension in shape)
        {
            if (dimension < 0)
            {
                throw InferenceException.BadRequest($"input '{name}' has a negative dimension in shape [{string.Join(',', shape)}]");
            }

            if (dimension != 0 && count > int.MaxValue / dimension)
            {
                throw InferenceException.BadRequest($"input '{name}' has shape [{string.Join(',', shape)}], too many elements");
            }

            count *= dimension;
        }

        return count;
    }
}

/// <summary>How a transport names raw input bytes in its error messages.</summary>
internal sealed record RawEncoding(string SizeName, string DataName)
{
    public static readonly RawEncoding BinaryExtension = new("binary_data_size", "binary data");

    public static readonly RawEncoding GrpcRawContents = new("raw_input_contents size", "raw_input_contents");
}

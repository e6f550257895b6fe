using System.Buffers.Binary;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Serverless.Inference.Runtime;

namespace Serverless.Inference.Protocol;

/// <summary>
/// Writes an inference response: the JSON header, then the binary section for outputs sent as binary
/// (in the order they appear in the header), as the binary tensor data extension lays it out.
/// </summary>
internal static class InferResponseWriter
{
    internal static readonly JsonWriterOptions WriterOptions = new()
    {
        // The body is JSON, never embedded in HTML, so HTML-sensitive characters need no escaping.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = true,
    };

    /// <returns>The length of the JSON header; equal to the body length when nothing is binary.</returns>
    public static int Write(PooledBufferWriter body, string modelName, string modelVersion, InferRequest request, ModelOutputs outputs)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(outputs);
        var binary = new bool[outputs.Tensors.Count];
        using (var json = new Utf8JsonWriter(body, WriterOptions))
        {
            json.WriteStartObject();
            json.WriteString("model_name"u8, modelName);
            json.WriteString("model_version"u8, modelVersion);
            if (request.Id is not null)
            {
                json.WriteString("id"u8, request.Id);
            }

            if (request.Parameters.Count + outputs.Parameters.Count > 0)
            {
                json.WriteStartObject("parameters"u8);
                foreach (var parameter in request.Parameters.Concat(outputs.Parameters))
                {
                    json.WritePropertyName(parameter.Name);
                    json.WriteRawValue(parameter.RawJsonValue, skipInputValidation: true);
                }

                json.WriteEndObject();
            }

            json.WriteStartArray("outputs"u8);
            for (var i = 0; i < outputs.Tensors.Count; i++)
            {
                var tensor = outputs.Tensors[i];
                binary[i] = WantsBinary(request, tensor.Name);
                WriteOutputHeader(json, tensor, binary[i]);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        var headerLength = body.WrittenCount;
        for (var i = 0; i < outputs.Tensors.Count; i++)
        {
            if (binary[i])
            {
                WriteBinary(body, outputs.Tensors[i]);
            }
        }

        return headerLength;
    }

    private static bool WantsBinary(InferRequest request, string output)
    {
        foreach (var requested in request.Outputs)
        {
            if (requested.Name == output)
            {
                return requested.Binary ?? request.BinaryOutputs;
            }
        }

        return request.BinaryOutputs;
    }

    private static void WriteOutputHeader(Utf8JsonWriter json, OutputTensor tensor, bool binary)
    {
        json.WriteStartObject();
        json.WriteString("name"u8, tensor.Name);
        json.WriteString("datatype"u8, tensor.DataType.ToProtocolName());
        json.WriteStartArray("shape"u8);
        foreach (var dimension in tensor.Shape)
        {
            json.WriteNumberValue(dimension);
        }

        json.WriteEndArray();
        if (binary)
        {
            json.WriteStartObject("parameters"u8);
            json.WriteNumber("binary_data_size"u8, BinarySize(tensor));
            json.WriteEndObject();
        }
        else
        {
            json.WriteStartArray("data"u8);
            WriteValues(json, tensor, 0, tensor.ElementCount);
            json.WriteEndArray();
        }

        json.WriteEndObject();
    }

    /// <summary>Writes elements [start, start + count) of a tensor as JSON array items.</summary>
    internal static void WriteValues(Utf8JsonWriter json, OutputTensor tensor, int start, int count)
    {
        switch (tensor.DataType)
        {
            case TensorDataType.Bool:
                foreach (var value in tensor.Bytes.Slice(start, count))
                {
                    json.WriteBooleanValue(value != 0);
                }

                break;
            case TensorDataType.Fp32:
                foreach (var value in tensor.AsSpan<float>().Slice(start, count))
                {
                    WriteFloating(json, value);
                }

                break;
            case TensorDataType.Fp64:
                foreach (var value in tensor.AsSpan<double>().Slice(start, count))
                {
                    WriteFloating(json, value);
                }

                break;
            case TensorDataType.Fp16:
                foreach (var value in tensor.AsSpan<Half>().Slice(start, count))
                {
                    WriteFloating(json, (float)value);
                }

                break;
            case TensorDataType.Int8: WriteIntegers<sbyte>(json, tensor, start, count); break;
            case TensorDataType.Int16: WriteIntegers<short>(json, tensor, start, count); break;
            case TensorDataType.Int32: WriteIntegers<int>(json, tensor, start, count); break;
            case TensorDataType.Int64: WriteIntegers<long>(json, tensor, start, count); break;
            case TensorDataType.UInt8: WriteIntegers<byte>(json, tensor, start, count); break;
            case TensorDataType.UInt16: WriteIntegers<ushort>(json, tensor, start, count); break;
            case TensorDataType.UInt32: WriteIntegers<uint>(json, tensor, start, count); break;
            case TensorDataType.UInt64:
                foreach (var value in tensor.AsSpan<ulong>().Slice(start, count))
                {
                    json.WriteNumberValue(value);
                }

                break;
            case TensorDataType.Bytes:
                for (var i = start; i < start + count; i++)
                {
                    var bytes = tensor.GetBytes(i);
                    if (System.Text.Unicode.Utf8.IsValid(bytes))
                    {
                        json.WriteStringValue(bytes);
                    }
                    else
                    {
                        // JSON strings are text; arbitrary bytes travel intact only with binary_data.
                        json.WriteStringValue(Encoding.UTF8.GetString(bytes));
                    }
                }

                break;
        }
    }

    private static void WriteIntegers<T>(Utf8JsonWriter json, OutputTensor tensor, int start, int count)
        where T : unmanaged, IConvertible
    {
        foreach (var value in tensor.AsSpan<T>().Slice(start, count))
        {
            json.WriteNumberValue(value.ToInt64(null));
        }
    }

    /// <summary>JSON has no NaN or infinity; they are written as null rather than breaking the document.</summary>
    private static void WriteFloating(Utf8JsonWriter json, float value)
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

    private static void WriteFloating(Utf8JsonWriter json, double value)
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

    private static long BinarySize(OutputTensor tensor)
    {
        if (tensor.DataType != TensorDataType.Bytes)
        {
            return (long)tensor.ElementCount * tensor.DataType.ElementSize();
        }

        var size = 0L;
        for (var i = 0; i < tensor.ElementCount; i++)
        {
            size += sizeof(uint) + tensor.GetBytes(i).Length;
        }

        return size;
    }

    private static void WriteBinary(PooledBufferWriter body, OutputTensor tensor)
    {
        if (tensor.DataType != TensorDataType.Bytes)
        {
            body.Write(tensor.Bytes);
            return;
        }

        Span<byte> prefix = stackalloc byte[sizeof(uint)];
        for (var i = 0; i < tensor.ElementCount; i++)
        {
            var element = tensor.GetBytes(i);
            BinaryPrimitives.WriteUInt32LittleEndian(prefix, (uint)element.Length);
            body.Write(prefix);
            body.Write(element);
        }
    }
}

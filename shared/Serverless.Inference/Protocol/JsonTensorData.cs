using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Serverless.Inference.Runtime;

namespace Serverless.Inference.Protocol;

/// <summary>
/// Tensor elements in JSON (flat or nested arrays in row-major order, or a bare scalar) decoded
/// straight into a tensor buffer at an element offset: the same code serves request bodies and batch rows.
/// </summary>
internal static class JsonTensorData
{
    public static void ReadNumbers(ref Utf8JsonReader reader, string name, TensorDataType dataType, byte[] target, int elementOffset, int count)
    {
        var sink = new NumberSink(name, dataType, target, elementOffset);
        ReadElements(ref reader, name, count, ref sink);
    }

    public static void ReadStrings(ref Utf8JsonReader reader, string name, byte[][] target, int elementOffset, int count)
    {
        var sink = new StringSink(name, target, elementOffset);
        ReadElements(ref reader, name, count, ref sink);
    }

    public static InferenceException WrongElement(string name, TensorDataType dataType, int index, JsonTokenType token) =>
        InferenceException.BadRequest(
            $"input '{name}' is {dataType.ToProtocolName()} but element {index} is {Describe(token)}" +
            (dataType == TensorDataType.Bytes ? " (BYTES elements are strings)" : dataType == TensorDataType.Bool ? " (BOOL elements are true or false)" : " (expected a number)"));

    public static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        JsonTokenType.StartObject => "an object",
        _ => token.ToString(),
    };

    private interface IElementSink
    {
        void Take(ref Utf8JsonReader reader, int index);
    }

    private static void ReadElements<TSink>(ref Utf8JsonReader reader, string name, int count, ref TSink sink)
        where TSink : struct, IElementSink
    {
        var filled = 0;
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            Take(ref reader, name, count, ref filled, ref sink);
        }
        else
        {
            var depth = reader.CurrentDepth;
            while (Next(ref reader) != JsonTokenType.EndArray || reader.CurrentDepth != depth)
            {
                if (reader.TokenType is not (JsonTokenType.StartArray or JsonTokenType.EndArray))
                {
                    Take(ref reader, name, count, ref filled, ref sink);
                }
            }
        }

        if (filled != count)
        {
            throw InferenceException.BadRequest($"input '{name}' has {filled} data elements but its shape needs {count}");
        }
    }

    private static void Take<TSink>(ref Utf8JsonReader reader, string name, int count, ref int filled, ref TSink sink)
        where TSink : struct, IElementSink
    {
        if (filled == count)
        {
            throw InferenceException.BadRequest($"input '{name}' has more data elements than its shape's {count}");
        }

        sink.Take(ref reader, filled);
        filled++;
    }

    private static JsonTokenType Next(ref Utf8JsonReader reader) =>
        reader.Read() ? reader.TokenType : throw InferenceException.BadRequest("malformed JSON: the data ends early");

    private readonly struct StringSink(string name, byte[][] target, int offset) : IElementSink
    {
        public void Take(ref Utf8JsonReader reader, int index)
        {
            if (reader.TokenType != JsonTokenType.String)
            {
                throw WrongElement(name, TensorDataType.Bytes, index, reader.TokenType);
            }

            if (!reader.ValueIsEscaped)
            {
                target[offset + index] = reader.ValueSpan.ToArray();
                return;
            }

            target[offset + index] = Encoding.UTF8.GetBytes(InferRequestReader.Text(ref reader, $"input '{name}' element {index}"));
        }
    }

    private readonly struct NumberSink(string name, TensorDataType dataType, byte[] target, int offset) : IElementSink
    {
        public void Take(ref Utf8JsonReader reader, int index)
        {
            var at = offset + index;
            if (dataType == TensorDataType.Bool)
            {
                target[at] = reader.TokenType switch
                {
                    JsonTokenType.True => 1,
                    JsonTokenType.False => 0,
                    _ => throw WrongElement(name, dataType, index, reader.TokenType),
                };
                return;
            }

            if (reader.TokenType != JsonTokenType.Number)
            {
                throw WrongElement(name, dataType, index, reader.TokenType);
            }

            var ok = dataType switch
            {
                TensorDataType.Fp32 => Put(at, reader.TryGetSingle(out var f) && float.IsFinite(f), f),
                TensorDataType.Fp64 => Put(at, reader.TryGetDouble(out var d) && double.IsFinite(d), d),
                // A finite float can still be out of FP16's range (over 65504): refuse it rather than send infinity.
                TensorDataType.Fp16 => Put(at, reader.TryGetSingle(out var h) && Half.IsFinite((Half)h), (Half)h),
                TensorDataType.Int8 => Put(at, reader.TryGetSByte(out var i8), i8),
                TensorDataType.Int16 => Put(at, reader.TryGetInt16(out var i16), i16),
                TensorDataType.Int32 => Put(at, reader.TryGetInt32(out var i32), i32),
                TensorDataType.Int64 => Put(at, reader.TryGetInt64(out var i64), i64),
                TensorDataType.UInt8 => Put(at, reader.TryGetByte(out var u8), u8),
                TensorDataType.UInt16 => Put(at, reader.TryGetUInt16(out var u16), u16),
                TensorDataType.UInt32 => Put(at, reader.TryGetUInt32(out var u32), u32),
                TensorDataType.UInt64 => Put(at, reader.TryGetUInt64(out var u64), u64),
                _ => false,
            };

            if (!ok)
            {
                throw InferenceException.BadRequest(
                    $"input '{name}' element {index} ({Encoding.UTF8.GetString(reader.ValueSpan)}) is not a valid {dataType.ToProtocolName()} value");
            }
        }

        private bool Put<T>(int at, bool parsed, T value)
            where T : unmanaged
        {
            if (parsed)
            {
                MemoryMarshal.Cast<byte, T>(target.AsSpan())[at] = value;
            }

            return parsed;
        }
    }
}

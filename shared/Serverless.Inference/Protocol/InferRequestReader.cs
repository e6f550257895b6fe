using System.Text.Json;
using Serverless.Inference.Runtime;

namespace Serverless.Inference.Protocol;

/// <summary>
/// Reads an inference request straight from its UTF-8 JSON header (and binary section) into input
/// buffers: numbers are decoded into place with no per-element allocation, and every size is checked
/// against the bytes actually present before anything is allocated.
/// </summary>
internal static class InferRequestReader
{
    public static InferRequest Read(ReadOnlySpan<byte> json, ReadOnlySpan<byte> binary, RequestLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = limits.MaxJsonDepth });
        var inputs = new List<InputTensor>();
        try
        {
            return ReadRequest(ref reader, json.Length, binary, inputs);
        }
        catch (JsonException e)
        {
            DisposeAll(inputs);
            throw InferenceException.BadRequest($"malformed JSON: {e.Message}");
        }
        catch
        {
            DisposeAll(inputs);
            throw;
        }
    }

    private static InferRequest ReadRequest(ref Utf8JsonReader reader, int jsonLength, ReadOnlySpan<byte> binary, List<InputTensor> inputs)
    {
        Expect(ref reader, JsonTokenType.StartObject, "the request body must be a JSON object");
        string? id = null;
        var outputs = new List<RequestedOutput>();
        var parameters = new List<Parameter>();
        var binaryOutputs = false;
        var binaryOffset = 0;

        while (Next(ref reader) == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("id"u8))
            {
                Next(ref reader);
                id = reader.TokenType == JsonTokenType.String
                    ? Text(ref reader, "'id'")
                    : throw InferenceException.BadRequest("'id' must be a string");
            }
            else if (reader.ValueTextEquals("parameters"u8))
            {
                Next(ref reader);
                foreach (var parameter in ReadParameters(ref reader, "request"))
                {
                    if (parameter.Name == "binary_data_output")
                    {
                        binaryOutputs = ParseBool(parameter, "request");
                    }
                    else
                    {
                        parameters.Add(parameter);
                    }
                }
            }
            else if (reader.ValueTextEquals("inputs"u8))
            {
                Next(ref reader);
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    throw InferenceException.BadRequest("'inputs' must be an array");
                }

                while (Next(ref reader) != JsonTokenType.EndArray)
                {
                    inputs.Add(ReadInput(ref reader, jsonLength, binary, ref binaryOffset));
                }
            }
            else if (reader.ValueTextEquals("outputs"u8))
            {
                Next(ref reader);
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    throw InferenceException.BadRequest("'outputs' must be an array");
                }

                while (Next(ref reader) != JsonTokenType.EndArray)
                {
                    outputs.Add(ReadOutput(ref reader));
                }
            }
            else
            {
                Next(ref reader);
                reader.Skip();
            }
        }

        if (reader.Read())
        {
            throw InferenceException.BadRequest("malformed JSON: content after the request object");
        }

        InputTensors.CheckRequest(inputs, outputs);
        if (binaryOffset != binary.Length)
        {
            throw InferenceException.BadRequest(
                $"the body holds {binary.Length} bytes of binary data but the inputs' binary_data_size add up to {binaryOffset}");
        }

        return new InferRequest { Id = id, Inputs = inputs, Outputs = outputs, BinaryOutputs = binaryOutputs, Parameters = parameters };
    }

    private static InputTensor ReadInput(ref Utf8JsonReader reader, int jsonLength, ReadOnlySpan<byte> binary, ref int binaryOffset)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw InferenceException.BadRequest("each input must be a JSON object");
        }

        string? name = null;
        string? datatypeName = null;
        long[]? shape = null;
        long? binarySize = null;
        var dataReader = default(Utf8JsonReader);
        var hasData = false;
        InputTensor? decoded = null;
        try
        {
            while (Next(ref reader) == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("name"u8))
                {
                    Next(ref reader);
                    name = reader.TokenType == JsonTokenType.String ? Text(ref reader, "an input's 'name'") : throw InferenceException.BadRequest("an input's 'name' must be a string");
                }
                else if (reader.ValueTextEquals("datatype"u8))
                {
                    Next(ref reader);
                    datatypeName = reader.TokenType == JsonTokenType.String ? Text(ref reader, "an input's 'datatype'") : throw InferenceException.BadRequest("an input's 'datatype' must be a string");
                }
                else if (reader.ValueTextEquals("shape"u8))
                {
                    Next(ref reader);
                    shape = ReadShape(ref reader);
                }
                else if (reader.ValueTextEquals("parameters"u8))
                {
                    Next(ref reader);
                    foreach (var parameter in ReadParameters(ref reader, "input"))
                    {
                        if (parameter.Name == "binary_data_size")
                        {
                            binarySize = ParseSize(parameter);
                        }
                    }
                }
                else if (reader.ValueTextEquals("data"u8))
                {
                    Next(ref reader);
                    if (!hasData && binarySize is null && name is not null && datatypeName is not null && shape is not null)
                    {
                        // The usual order (name, shape, datatype, data): decode in the same pass.
                        var (dataType, count) = InputTensors.Header(name, datatypeName, shape, jsonLength);
                        decoded = ReadJsonData(ref reader, name, dataType, shape, count);
                    }
                    else
                    {
                        // The data came before what it needs; remember where it is and come back to it.
                        dataReader = reader;
                        reader.Skip();
                    }

                    hasData = true;
                }
                else
                {
                    Next(ref reader);
                    reader.Skip();
                }
            }

            if (string.IsNullOrEmpty(name))
            {
                throw InferenceException.BadRequest("an input has no 'name'");
            }

            if (hasData && binarySize is not null)
            {
                throw InferenceException.BadRequest($"input '{name}' has both 'data' and binary_data_size");
            }

            if (decoded is not null)
            {
                return decoded;
            }

            if (binarySize is { } size)
            {
                var (dataType, count) = InputTensors.Header(name, datatypeName, shape, int.MaxValue);
                if (size > binary.Length - binaryOffset)
                {
                    throw InferenceException.BadRequest(
                        $"input '{name}' declares binary_data_size {size} but only {binary.Length - binaryOffset} bytes of binary data remain in the body");
                }

                var slice = binary.Slice(binaryOffset, (int)size);
                binaryOffset += (int)size;
                return InputTensors.FromRaw(name, dataType, shape!, count, slice, RawEncoding.BinaryExtension);
            }

            var (type, elements) = InputTensors.Header(name, datatypeName, shape, jsonLength);
            return hasData
                ? ReadJsonData(ref dataReader, name, type, shape!, elements)
                : throw InferenceException.BadRequest($"input '{name}' has neither 'data' nor binary_data_size");
        }
        catch
        {
            decoded?.Dispose();
            throw;
        }
    }

    private static long[] ReadShape(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw InferenceException.BadRequest("'shape' must be an array of integers");
        }

        var dims = new List<long>(4);
        while (Next(ref reader) != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var dimension))
            {
                throw InferenceException.BadRequest("'shape' must be an array of integers");
            }

            if (dims.Count == InputTensors.MaxRank)
            {
                throw InferenceException.BadRequest($"'shape' has more than {InputTensors.MaxRank} dimensions");
            }

            dims.Add(dimension);
        }

        return [.. dims];
    }

    private static InputTensor ReadJsonData(ref Utf8JsonReader reader, string name, TensorDataType dataType, long[] shape, int count)
    {
        if (dataType == TensorDataType.Bytes)
        {
            var elements = new byte[count][];
            JsonTensorData.ReadStrings(ref reader, name, elements, 0, count);
            return InputTensor.CreateBytes(name, shape, elements);
        }

        var tensor = InputTensor.CreateNumeric(name, dataType, shape, count);
        try
        {
            JsonTensorData.ReadNumbers(ref reader, name, dataType, tensor.Buffer, 0, count);
            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    private static RequestedOutput ReadOutput(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw InferenceException.BadRequest("each requested output must be a JSON object");
        }

        string? name = null;
        bool? binary = null;
        while (Next(ref reader) == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("name"u8))
            {
                Next(ref reader);
                name = reader.TokenType == JsonTokenType.String ? Text(ref reader, "an output's 'name'") : throw InferenceException.BadRequest("an output's 'name' must be a string");
            }
            else if (reader.ValueTextEquals("parameters"u8))
            {
                Next(ref reader);
                foreach (var parameter in ReadParameters(ref reader, "output"))
                {
                    if (parameter.Name == "binary_data")
                    {
                        binary = ParseBool(parameter, "output");
                    }
                    else if (parameter.Name == "classification")
                    {
                        throw InferenceException.BadRequest("the classification extension is not supported; request the output itself");
                    }
                }
            }
            else
            {
                Next(ref reader);
                reader.Skip();
            }
        }

        return string.IsNullOrEmpty(name) ? throw InferenceException.BadRequest("a requested output has no 'name'") : new RequestedOutput(name, binary);
    }

    private static List<Parameter> ReadParameters(ref Utf8JsonReader reader, string owner)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw InferenceException.BadRequest($"the {owner}'s 'parameters' must be a JSON object");
        }

        var parameters = new List<Parameter>();
        while (Next(ref reader) == JsonTokenType.PropertyName)
        {
            var name = Text(ref reader, $"a parameter name of the {owner}");
            Next(ref reader);
            if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.Number or JsonTokenType.True or JsonTokenType.False))
            {
                throw InferenceException.BadRequest($"parameter '{name}' must be a string, a number or a boolean");
            }

            // A string keeps its original escapes, so quoting the raw span gives valid JSON back.
            var raw = reader.TokenType == JsonTokenType.String
                ? [(byte)'"', .. reader.ValueSpan, (byte)'"']
                : reader.ValueSpan.ToArray();
            parameters.Add(new Parameter(name, raw));
        }

        return parameters;
    }

    private static bool ParseBool(Parameter parameter, string owner) => parameter.RawJsonValue switch
    {
        [(byte)'t', ..] => true,
        [(byte)'f', ..] => false,
        _ => throw InferenceException.BadRequest($"the {owner} parameter '{parameter.Name}' must be true or false"),
    };

    private static long ParseSize(Parameter parameter) =>
        long.TryParse(parameter.RawJsonValue, out var size) && size >= 0
            ? size
            : throw InferenceException.BadRequest($"binary_data_size must be a non-negative integer, not {System.Text.Encoding.UTF8.GetString(parameter.RawJsonValue)}");

    /// <summary>
    /// A string or property name as text. The reader checks structure, not encoding: bytes that are not UTF-8, or an
    /// escaped lone surrogate (<c>"\ud800"</c>), which has no UTF-8 form, fail only when read as text.
    /// </summary>
    internal static string Text(ref Utf8JsonReader reader, string what)
    {
        try
        {
            return reader.GetString()!;
        }
        catch (InvalidOperationException)
        {
            throw InferenceException.BadRequest($"{what} is not valid text: it holds bytes that are not UTF-8 or an escaped lone surrogate such as \\ud800");
        }
    }

    private static JsonTokenType Next(ref Utf8JsonReader reader) =>
        reader.Read() ? reader.TokenType : throw InferenceException.BadRequest("malformed JSON: the request body ends early");

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType token, string message)
    {
        if (!reader.Read() || reader.TokenType != token)
        {
            throw InferenceException.BadRequest(message);
        }
    }

    private static void DisposeAll(List<InputTensor> inputs) => inputs.ForEach(input => input.Dispose());
}

using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Serverless.Inference.Protocol;
using Serverless.Inference.Runtime;

namespace Serverless.Inference.Batch;

/// <summary>
/// JSON lines: each line an OIP inference request (it has "inputs"), a record object mapping input names
/// to values, or, for a single-input model, the value itself as an array. Results are one line per input
/// line: <c>{"line":n,"outputs":{...}}</c>, <c>{"line":n,"response":{...}}</c> or <c>{"line":n,"error":"..."}</c>.
/// In a record, a BYTES input of one value per row may instead be given as <c>"name_key"</c>: a key in the file's store.
/// </summary>
internal sealed class JsonlRowFormat(IReadOnlyList<BatchColumn> columns, IReadOnlyList<TensorSpec> outputs, string? noRowsReason)
    : RowFormat(columns, outputs)
{
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 32 };
    private readonly bool[] _filled = new bool[columns.Count];
    // The field that names a BYTES value by key instead of carrying it, or null where a column cannot be given so.
    private readonly byte[]?[] _keyFields = [.. columns.Select(c => c.Spec.DataType == TensorDataType.Bytes && c.RowElements == 1
        ? Encoding.UTF8.GetBytes(c.Spec.Name + MicroBatch.KeySuffix)
        : null)];
    private readonly Utf8JsonWriter _writer = new(Stream.Null, InferResponseWriter.WriterOptions);

    public override bool HasHeader => false;

    public override void Dispose()
    {
        _writer.Dispose();
        base.Dispose();
    }

    public override RowKind Parse(ReadOnlySpan<byte> record, long line, MicroBatch? batch)
    {
        if (record.Trim(" \t"u8).IsEmpty)
        {
            throw InferenceException.BadRequest("empty line");
        }

        // JSON is UTF-8 text; the reader does not check string contents, so bad bytes would reach the model.
        if (!Utf8.IsValid(record))
        {
            throw InferenceException.BadRequest("the line is not valid UTF-8");
        }

        var reader = new Utf8JsonReader(record, ReaderOptions);
        reader.Read();
        // Most lines are plain records: a byte search rules out a request before any look-ahead parsing.
        if (reader.TokenType == JsonTokenType.StartObject && record.IndexOf("\"inputs\""u8) >= 0 && IsRequest(reader))
        {
            return RowKind.Request;
        }

        if (batch is null)
        {
            throw InferenceException.BadRequest(noRowsReason ?? "this model cannot read plain rows");
        }

        if (reader.TokenType == JsonTokenType.StartArray)
        {
            if (Columns.Count != 1)
            {
                throw InferenceException.BadRequest(
                    $"a bare array fits a model with one input; this one has {Columns.Count} ({string.Join(", ", Columns.Select(c => c.Spec.Name))}), so send an object");
            }

            ReadValue(ref reader, 0, batch);
        }
        else if (reader.TokenType == JsonTokenType.StartObject)
        {
            Array.Clear(_filled);
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var (column, byKey) = IndexOf(ref reader);
                reader.Read();
                if (column < 0)
                {
                    reader.Skip();
                    continue;
                }

                if (_filled[column])
                {
                    throw InferenceException.BadRequest($"input '{Columns[column].Spec.Name}' is given twice");
                }

                ReadValue(ref reader, column, batch);
                _filled[column] = true;
                if (byKey)
                {
                    batch.MarkKey(column, batch.SlotOffset(column));
                }
            }

            var missing = Columns.Where((_, i) => !_filled[i]).Select(c => c.Spec.Name).ToList();
            if (missing.Count > 0)
            {
                throw InferenceException.BadRequest($"missing input(s): {string.Join(", ", missing)}");
            }
        }
        else
        {
            throw InferenceException.BadRequest($"a line must be a JSON object or array, not {JsonTensorData.Describe(reader.TokenType)}");
        }

        if (reader.Read())
        {
            throw InferenceException.BadRequest("unexpected content after the JSON value");
        }

        batch.Commit(line);
        return RowKind.Row;
    }

    public override void WriteRow(PooledBufferWriter output, long line, ReadOnlySpan<byte> record, ModelOutputs outputs, int row, int rows)
    {
        var json = Begin(output, line);
        json.WriteStartObject("outputs"u8);
        foreach (var tensor in outputs.Tensors)
        {
            var (start, count) = RowSlice(tensor, row, rows);
            json.WriteStartArray(tensor.Name);
            InferResponseWriter.WriteValues(json, tensor, start, count);
            json.WriteEndArray();
        }

        json.WriteEndObject();
        End(output, json);
    }

    public override void WriteError(PooledBufferWriter output, long line, ReadOnlySpan<byte> record, string error)
    {
        var json = Begin(output, line);
        json.WriteString("error"u8, error);
        End(output, json);
    }

    public override void WriteResponse(PooledBufferWriter output, long line, string modelName, string modelVersion, InferRequest request, ModelOutputs outputs)
    {
        using var response = new PooledBufferWriter();
        InferResponseWriter.Write(response, modelName, modelVersion, request, outputs);
        var json = Begin(output, line);
        json.WritePropertyName("response"u8);
        json.WriteRawValue(response.WrittenSpan, skipInputValidation: true);
        End(output, json);
    }

    private Utf8JsonWriter Begin(PooledBufferWriter output, long line)
    {
        _writer.Reset(output);
        _writer.WriteStartObject();
        _writer.WriteNumber("line"u8, line);
        return _writer;
    }

    private static void End(PooledBufferWriter output, Utf8JsonWriter json)
    {
        json.WriteEndObject();
        json.Flush();
        output.Write("\n"u8);
    }

    private bool IsRequest(Utf8JsonReader reader)
    {
        // A copy of the reader: looking ahead leaves the caller's position alone.
        if (Columns.Any(c => c.Spec.Name == "inputs"))
        {
            return false;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (NameOf(ref reader) is { } name ? name == "inputs" : reader.ValueTextEquals("inputs"u8))
            {
                return true;
            }

            reader.Read();
            reader.Skip();
        }

        return false;
    }

    private (int Column, bool ByKey) IndexOf(ref Utf8JsonReader reader)
    {
        var name = NameOf(ref reader);
        for (var i = 0; i < Columns.Count; i++)
        {
            if (name is null ? reader.ValueTextEquals(Columns[i].Spec.Name) : name == Columns[i].Spec.Name)
            {
                return (i, false);
            }

            if (_keyFields[i] is { } keyField && (name is null ? reader.ValueTextEquals(keyField) : name == Encoding.UTF8.GetString(keyField)))
            {
                return (i, true);
            }
        }

        return (-1, false);
    }

    /// <summary>
    /// An escaped property name as text, unescaped once (a name that cannot be text, such as a lone surrogate escape,
    /// is the row's error); null for the usual unescaped name, which is compared as bytes with no allocation.
    /// </summary>
    private static string? NameOf(ref Utf8JsonReader reader) =>
        reader.ValueIsEscaped ? InferRequestReader.Text(ref reader, "a field name") : null;

    private void ReadValue(ref Utf8JsonReader reader, int column, MicroBatch batch)
    {
        var spec = Columns[column];
        if (spec.Spec.DataType == TensorDataType.Bytes)
        {
            JsonTensorData.ReadStrings(ref reader, spec.Spec.Name, batch.Strings(column)!, batch.SlotOffset(column), spec.RowElements);
        }
        else
        {
            JsonTensorData.ReadNumbers(ref reader, spec.Spec.Name, spec.Spec.DataType, batch.Numbers(column)!, batch.SlotOffset(column), spec.RowElements);
        }
    }
}

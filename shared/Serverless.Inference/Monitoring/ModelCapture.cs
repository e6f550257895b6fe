using System.Text.Json;
using Serverless.Inference.Batch;
using Serverless.Inference.Protocol;
using Serverless.Inference.Repository;
using Serverless.Inference.Runtime;

namespace Serverless.Inference.Monitoring;

/// <summary>
/// One model version's capture: samples requests at the manifest's rate and turns each sampled request into one
/// record per row, handed to the process's <see cref="PredictionCapture"/>. Never throws into the request.
/// </summary>
internal sealed class ModelCapture(PredictionCapture writer, CaptureManifest manifest, string model, string version, string identity, bool batchesRows)
{
    public const string Online = "online";
    public const string Batch = "batch";

    private readonly HashSet<string> _redact = [.. manifest.Redact ?? []];
    private readonly IReadOnlyList<string> _redactList = manifest.Redact ?? [];
    private readonly CaptureRecordFields _fields = new(model, version, identity);

    public CaptureManifest Manifest => manifest;

    /// <summary>Whether this request (or batch row) is recorded: drawn once per request, at the manifest's rate.</summary>
    public bool Sample() => manifest.SampleRate >= 1 || (manifest.SampleRate > 0 && Random.Shared.NextDouble() < manifest.SampleRate);

    /// <summary>Records a request and its outputs if the draw picks it: one record per row.</summary>
    /// <param name="baseId">The request's id; a generated one when null.</param>
    public void Request(string source, string? baseId, IReadOnlyList<InputTensor> inputs, ModelOutputs outputs)
    {
        if (!Sample())
        {
            return;
        }

        var rows = RowsOf(inputs);
        var time = writer.Now;
        var id = baseId ?? writer.NextRequestId();
        var fixedFields = source == Batch ? _fields.Batch : _fields.Online;
        var reserve = Reserve(inputs, outputs);
        for (var row = 0; row < rows; row++)
        {
            var recordWriter = CaptureRecordWriter.Current;
            if (!recordWriter.Begin(time, fixedFields, rows == 1 ? id : $"{id}/{row}", row, manifest.MaxRecordBytes, reserve))
            {
                PredictionCapture.CountTooLarge(model);
                continue;
            }

            if (manifest.Inputs)
            {
                recordWriter.BeginSection("inputs"u8);
                for (var i = 0; i < inputs.Count; i++)
                {
                    var input = inputs[i];
                    if (!_redact.Contains(input.Name))
                    {
                        var (first, count) = Slice(input.Shape, input.ElementCount, rows, row);
                        recordWriter.Value(input, _fields.Name(input.Name), first, count);
                    }
                }

                recordWriter.EndSection();
            }

            WriteOutputs(recordWriter, outputs, rows, row);
            writer.Add(model, version, time, recordWriter.End(manifest.Inputs ? _redactList : []));
        }
    }

    /// <summary>Records one plain row of a batch file, the draw permitting.</summary>
    /// <param name="record">The row as it stands in the file, where a JSON lines row may carry its own "id".</param>
    /// <param name="outputs">The outputs of the micro-batch the row ran in.</param>
    public void BatchRow(MicroBatch batch, int slot, ReadOnlySpan<byte> record, string file, long line, ModelOutputs outputs, int rowsInRun, int outputRow)
    {
        if (!Sample())
        {
            return;
        }

        var time = writer.Now;
        var id = RowId(record) ?? $"{file}:{line}";
        var recordWriter = CaptureRecordWriter.Current;
        if (!recordWriter.Begin(time, _fields.Batch, id, 0, manifest.MaxRecordBytes, Reserve(batch.Columns, outputs)))
        {
            PredictionCapture.CountTooLarge(model);
            return;
        }

        if (manifest.Inputs)
        {
            recordWriter.BeginSection("inputs"u8);
            // Views of the whole micro-batch: no row is copied to be recorded.
            foreach (var input in batch.Tensors())
            {
                if (!_redact.Contains(input.Name))
                {
                    var (first, count) = Slice(input.Shape, input.ElementCount, batch.Count, slot);
                    recordWriter.Value(input, _fields.Name(input.Name), first, count);
                }

                input.Dispose();
            }

            recordWriter.EndSection();
        }

        WriteOutputs(recordWriter, outputs, rowsInRun, outputRow);
        writer.Add(model, version, time, recordWriter.End(manifest.Inputs ? _redactList : []));
    }

    private void WriteOutputs(CaptureRecordWriter recordWriter, ModelOutputs outputs, int rows, int row)
    {
        if (!manifest.Outputs)
        {
            return;
        }

        recordWriter.BeginSection("outputs"u8);
        var tensors = outputs.Tensors;
        for (var i = 0; i < tensors.Count; i++)
        {
            var output = tensors[i];
            var (first, count) = Slice(output.Shape, output.ElementCount, rows, row);
            recordWriter.Value(output, _fields.Name(output.Name), first, count);
        }

        recordWriter.EndSection();
    }

    /// <summary>The rows of a request: its first dimension when the model batches rows and every input agrees on it; else one.</summary>
    private int RowsOf(IReadOnlyList<InputTensor> inputs)
    {
        if (!batchesRows || inputs.Count == 0 || inputs[0].Shape.Length == 0 || inputs[0].Shape[0] < 1)
        {
            return 1;
        }

        var rows = inputs[0].Shape[0];
        for (var i = 1; i < inputs.Count; i++)
        {
            if (inputs[i].Shape.Length == 0 || inputs[i].Shape[0] != rows)
            {
                return 1;
            }
        }

        return (int)Math.Min(rows, int.MaxValue);
    }

    /// <summary>A tensor's elements for one row: its share when its first dimension is the rows, else all of it.</summary>
    private static (int First, int Count) Slice(long[] shape, int elementCount, int rows, int row)
    {
        if (rows == 1 || shape.Length == 0 || shape[0] != rows)
        {
            return (0, elementCount);
        }

        var perRow = elementCount / rows;
        return (row * perRow, perRow);
    }

    // Room for every name the record could list as redacted or truncated.
    private static int Reserve(IReadOnlyList<InputTensor> inputs, ModelOutputs outputs)
    {
        var reserve = 0;
        for (var i = 0; i < inputs.Count; i++)
        {
            reserve += inputs[i].Name.Length + 3;
        }

        for (var i = 0; i < outputs.Tensors.Count; i++)
        {
            reserve += outputs.Tensors[i].Name.Length + 3;
        }

        return reserve;
    }

    private static int Reserve(IReadOnlyList<BatchColumn> columns, ModelOutputs outputs) =>
        columns.Sum(column => column.Spec.Name.Length + 3) + outputs.Tensors.Sum(output => output.Name.Length + 3);

    /// <summary>The top-level "id" of a JSON lines row (a string or a number), if it has one.</summary>
    private static string? RowId(ReadOnlySpan<byte> record)
    {
        if (record.IndexOf("\"id\""u8) < 0)
        {
            return null;
        }

        try
        {
            var reader = new Utf8JsonReader(record);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isId = reader.ValueTextEquals("id"u8);
                reader.Read();
                if (isId && reader.TokenType is JsonTokenType.String or JsonTokenType.Number)
                {
                    return reader.TokenType == JsonTokenType.String
                        ? reader.GetString()
                        : System.Text.Encoding.UTF8.GetString(reader.ValueSpan);
                }

                reader.Skip();
            }
        }
        catch (JsonException)
        {
            // A row that parsed for the model but not here (it cannot happen for a row that ran) keeps its line as id.
        }

        return null;
    }
}

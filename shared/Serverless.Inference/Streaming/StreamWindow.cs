using System.Buffers;
using System.Buffers.Binary;
using System.Text.Json;
using Serverless.Inference.Batch;
using Serverless.Inference.Protocol;
using Serverless.Inference.Runtime;

namespace Serverless.Inference.Streaming;

/// <summary>
/// Turns a partition key's last readings into one model row. Each record carries one reading, read by the batch row
/// parser as a row of the reading shape: the model input's row shape with its first dimension divided by the window's
/// size. The row is the readings oldest first, laid end to end: for an input of row shape [N, F] that is the readings
/// stacked along a new first dimension; for [N·F], the same values concatenated. Both are one memory layout.
/// </summary>
internal sealed class StreamWindow : IDisposable
{
    private static readonly TensorDataType[] Supported =
    [
        TensorDataType.Int8, TensorDataType.Int16, TensorDataType.Int32, TensorDataType.Int64, TensorDataType.UInt8,
        TensorDataType.UInt16, TensorDataType.UInt32, TensorDataType.UInt64, TensorDataType.Fp32, TensorDataType.Fp64,
    ];

    private readonly JsonlRowFormat _format;
    private readonly MicroBatch _reading;
    private readonly TensorDataType _dataType;
    private readonly Utf8JsonWriter _writer = new(Stream.Null);

    private StreamWindow(int size, BatchColumn reading)
    {
        Size = size;
        _dataType = reading.Spec.DataType;
        ReadingBytes = reading.RowElements * _dataType.ElementSize();
        _format = new JsonlRowFormat([reading], [], null);
        _reading = new MicroBatch([reading], 1);
    }

    public int Size { get; }

    public int ReadingBytes { get; }

    /// <exception cref="InferenceException">Unavailable: the window does not fit the model's input.</exception>
    public static StreamWindow For(StreamWindowManifest manifest, ModelSignature signature, string model)
    {
        if (signature.Inputs.Count != 1)
        {
            throw StreamRule.Refused(model, $"a window fills a model's only input; this one has {signature.Inputs.Count}");
        }

        var input = signature.Inputs[0];
        if (manifest.Input is { } name && name != input.Name)
        {
            throw StreamRule.Refused(model, $"window.input '{name}' is not the model's input (it is '{input.Name}')");
        }

        if (!Supported.Contains(input.DataType))
        {
            throw StreamRule.Refused(model, $"a window holds numbers; input '{input.Name}' is {input.DataType.ToProtocolName()}");
        }

        var row = input.Shape.Skip(1).ToList();
        var size = manifest.Size;
        long[]? readingShape = row switch
        {
            _ when row.Any(d => d < 0) => null,
            [var first, .. var rest] when first == size => [.. rest],
            [var only] when only % size == 0 => [only / size],
            _ => null,
        };
        if (readingShape is null || input.Shape.Count == 0)
        {
            throw StreamRule.Refused(model,
                $"window.size {size} does not fit input {input}: its row (the shape after the batch dimension) must be [{size}, ...] or [{size}·k], with fixed sizes");
        }

        return new StreamWindow(size, BatchColumn.For(input with { Shape = [-1, .. readingShape] }, null));
    }

    /// <summary>Parses a record as one reading.</summary>
    /// <returns>The reading's bytes, valid until the next call; or the record's error.</returns>
    public (ReadOnlyMemory<byte> Reading, string? Error) Read(ReadOnlySpan<byte> payload)
    {
        _reading.Clear();
        try
        {
            _reading.BeginRow();
            if (_format.Parse(payload, 1, _reading) != RowKind.Row)
            {
                return (default, "a model with a window takes one reading per record, not an inference request");
            }

            return (_reading.Numbers(0).AsMemory(0, ReadingBytes), null);
        }
        catch (InferenceException e)
        {
            return (default, e.Message);
        }
        catch (JsonException e)
        {
            return (default, $"not valid JSON: {e.Message}");
        }
    }

    /// <summary>Writes the window's readings as one record for the batch scorer: a flat JSON array, oldest reading first.</summary>
    public void WriteRow(IBufferWriter<byte> output, StreamReadings readings)
    {
        var bytes = readings.ToArray().AsSpan();
        _writer.Reset(output);
        _writer.WriteStartArray();
        var size = _dataType.ElementSize();
        for (var at = 0; at < bytes.Length; at += size)
        {
            var value = bytes.Slice(at, size);
            switch (_dataType)
            {
                case TensorDataType.Fp32: _writer.WriteNumberValue(BinaryPrimitives.ReadSingleLittleEndian(value)); break;
                case TensorDataType.Fp64: _writer.WriteNumberValue(BinaryPrimitives.ReadDoubleLittleEndian(value)); break;
                case TensorDataType.Int8: _writer.WriteNumberValue((sbyte)value[0]); break;
                case TensorDataType.UInt8: _writer.WriteNumberValue(value[0]); break;
                case TensorDataType.Int16: _writer.WriteNumberValue(BinaryPrimitives.ReadInt16LittleEndian(value)); break;
                case TensorDataType.UInt16: _writer.WriteNumberValue(BinaryPrimitives.ReadUInt16LittleEndian(value)); break;
                case TensorDataType.Int32: _writer.WriteNumberValue(BinaryPrimitives.ReadInt32LittleEndian(value)); break;
                case TensorDataType.UInt32: _writer.WriteNumberValue(BinaryPrimitives.ReadUInt32LittleEndian(value)); break;
                case TensorDataType.Int64: _writer.WriteNumberValue(BinaryPrimitives.ReadInt64LittleEndian(value)); break;
                default: _writer.WriteNumberValue(BinaryPrimitives.ReadUInt64LittleEndian(value)); break;
            }
        }

        _writer.WriteEndArray();
        _writer.Flush();
    }

    public void Dispose()
    {
        _format.Dispose();
        _writer.Dispose();
    }
}

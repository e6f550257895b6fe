using System.Text.Json;
using Serverless.Inference.Batch;
using Serverless.Inference.Pipelines;
using Serverless.Inference.Runtime;

namespace Serverless.Inference.Optimization.Calibration;

/// <summary>
/// Turns the lines of a calibration file into the model's own tensors, one row at a time. A line is a record in
/// the model's request form, as <c>infer score</c> reads JSON lines: the pipeline's inputs (an image, a text),
/// which the pipeline's pre-processing turns into the model's tensors, or the model's tensors themselves.
/// </summary>
internal sealed class CalibrationRows : IDisposable
{
    private readonly OnnxModel _model;
    private readonly PipelineModel? _pipeline;
    private readonly Reader _raw;
    private readonly Reader? _pipelineReader;

    public CalibrationRows(OnnxModel model, PipelineModel? pipeline)
    {
        _model = model;
        _pipeline = pipeline;
        _raw = new Reader(model.Signature.Inputs);
        _pipelineReader = pipeline is null ? null : new Reader(pipeline.Signature.Inputs);
    }

    /// <summary>The model's tensors for each row, valid until the next row is read.</summary>
    /// <exception cref="OptimizationException">A line that is not a row of this model, or a file without rows.</exception>
    public IEnumerable<IReadOnlyList<InputTensor>> Read(string path, int maxRows, CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            throw new OptimizationException($"the calibration file {Path.GetFileName(path)} does not exist");
        }

        var rows = 0;
        using var stream = File.OpenRead(path);
        foreach (var (line, bytes) in CalibrationLines.Read(stream))
        {
            if (rows == maxRows)
            {
                yield break;
            }

            cancellationToken.ThrowIfCancellationRequested();
            var reader = _pipelineReader is { } pipelineReader && !NamesOnly(bytes, _raw) ? pipelineReader : _raw;
            var tensors = reader.Parse(bytes, line);
            IReadOnlyList<InputTensor> modelTensors;
            try
            {
                modelTensors = reader == _raw ? tensors : Preprocess(tensors, line, cancellationToken);
                SignatureChecks.Validate(_model.Signature, modelTensors, _model.MaxBatchSize);
            }
            catch (InferenceException e)
            {
                throw new OptimizationException($"calibration line {line}: {e.Message}", e);
            }

            yield return modelTensors;
            rows++;
        }

        if (rows == 0)
        {
            throw new OptimizationException($"the calibration file {Path.GetFileName(path)} has no rows");
        }
    }

    public void Dispose()
    {
        _raw.Dispose();
        _pipelineReader?.Dispose();
    }

    private IReadOnlyList<InputTensor> Preprocess(List<InputTensor> tensors, long line, CancellationToken cancellationToken)
    {
        try
        {
            return _pipeline!.Preprocess(tensors, cancellationToken);
        }
        catch (InferenceException e)
        {
            throw new OptimizationException($"calibration line {line}: {e.Message}", e);
        }
    }

    /// <summary>True when a record names only the model's own inputs (so it skips the pipeline, as a request would).</summary>
    private static bool NamesOnly(ReadOnlySpan<byte> record, Reader reader)
    {
        var json = new Utf8JsonReader(record);
        if (!json.Read() || json.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        var named = false;
        try
        {
            while (json.Read() && json.TokenType == JsonTokenType.PropertyName)
            {
                var name = json.GetString();
                named |= reader.Columns.Any(column => column.Spec.Name == name);
                json.Read();
                json.Skip();
            }
        }
        catch (JsonException)
        {
            // Malformed: the pipeline's reader reports it with the line number.
            return false;
        }

        return named;
    }

    /// <summary>One way of reading a line: the columns of a signature, a one-row batch to parse into.</summary>
    private sealed class Reader : IDisposable
    {
        private readonly JsonlRowFormat _format;
        private readonly MicroBatch _batch;
        private readonly string? _problem;

        public Reader(IReadOnlyList<TensorSpec> inputs)
        {
            try
            {
                Columns = [.. inputs.Select(input => BatchColumn.For(input, null))];
            }
            catch (InferenceException e)
            {
                // A model whose tensors cannot be stacked row by row may still be calibrated through its pipeline.
                Columns = [];
                _problem = e.Message;
            }

            _format = new JsonlRowFormat(Columns, [], _problem);
            _batch = new MicroBatch(Columns, 1);
        }

        public IReadOnlyList<BatchColumn> Columns { get; }

        public void Dispose() => _format.Dispose();

        public List<InputTensor> Parse(ReadOnlySpan<byte> record, long line)
        {
            if (_problem is not null)
            {
                throw new OptimizationException($"calibration line {line}: rows cannot be read for this model: {_problem}");
            }

            _batch.Clear();
            _batch.BeginRow();
            RowKind kind;
            try
            {
                kind = _format.Parse(record, line, _batch);
            }
            catch (InferenceException e)
            {
                throw new OptimizationException($"calibration line {line}: {ShapeProblem(record) ?? e.Message}", e);
            }
            catch (JsonException e)
            {
                throw new OptimizationException($"calibration line {line} is not valid JSON: {e.Message}", e);
            }

            if (kind != RowKind.Row)
            {
                throw new OptimizationException($"calibration line {line} is an inference request; calibration reads plain records such as {{\"{Columns[0].Spec.Name}\": ...}}");
            }

            if (_batch.Keys.Count > 0)
            {
                throw new OptimizationException($"calibration line {line} names a stored object by key; calibration rows carry their values");
            }

            return _batch.Tensors();
        }

        /// <summary>Which input of a record has the wrong shape, and what it should be; null when the shapes fit.</summary>
        private string? ShapeProblem(ReadOnlySpan<byte> record)
        {
            try
            {
                using var document = JsonDocument.Parse(record.ToArray());
                foreach (var column in Columns)
                {
                    JsonElement value;
                    if (document.RootElement.ValueKind == JsonValueKind.Array && Columns.Count == 1)
                    {
                        value = document.RootElement;
                    }
                    else if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.TryGetProperty(column.Spec.Name, out value))
                    {
                        continue;
                    }

                    var shape = JsonShape.Of(value);
                    if (shape.Aggregate(1L, (product, dim) => product * dim) != column.RowElements)
                    {
                        return $"input '{column.Spec.Name}' takes rows of shape [{string.Join(',', column.RowShape)}]; this row's is [{string.Join(',', shape)}]";
                    }
                }
            }
            catch (JsonException)
            {
                return null;
            }

            return null;
        }
    }
}

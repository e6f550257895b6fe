using System.Text.Json;
using Serverless.Inference.Batch;
using Serverless.Inference.Runtime;

namespace Serverless.Inference.Optimization.Reports;

/// <summary>
/// Turns sample rows into a model's input tensors the way <c>infer score</c> does (its JSONL row format and
/// micro-batches) and runs them, so the report sees what a caller of the host sees.
/// </summary>
internal sealed class SampleRunner
{
    private readonly IInferenceModel _model;
    private readonly SampleSet _samples;
    private readonly IReadOnlyList<BatchColumn> _columns;

    public SampleRunner(IInferenceModel model, SampleSet samples)
    {
        _model = model;
        _samples = samples;
        try
        {
            _columns = [.. model.Signature.Inputs.Select(input => BatchColumn.For(input, null))];
        }
        catch (InferenceException e)
        {
            throw new OptimizationException($"the model cannot be run on rows of {samples.Source}: {e.Message}", e);
        }
    }

    /// <summary>Parses every row once, so a malformed file is refused (with its line) before any work is done.</summary>
    public void Check()
    {
        for (var first = 0; first < _samples.Lines.Count; first += 64)
        {
            Fill(first, Math.Min(64, _samples.Lines.Count - first));
        }
    }

    /// <summary>Runs rows <paramref name="first"/> to <paramref name="first"/> + <paramref name="count"/> as one batch; the caller disposes the outputs.</summary>
    public ModelOutputs Run(int first, int count, CancellationToken cancellationToken)
    {
        var batch = Fill(first, count);
        var inputs = batch.Tensors();
        try
        {
            return _model.Run(inputs, null, cancellationToken);
        }
        catch (InferenceException e)
        {
            throw new OptimizationException($"{_samples.Source} {Lines(first, count)}: {e.Message}", e);
        }
        finally
        {
            inputs.ForEach(input => input.Dispose());
        }
    }

    /// <summary>The given rows repeated, in order, until there are <paramref name="count"/>: a batch of that size from fewer samples.</summary>
    public ModelOutputs RunRepeated(int count, CancellationToken cancellationToken)
    {
        var rows = Enumerable.Range(0, count).Select(i => _samples.Lines[i % _samples.Lines.Count]).ToList();
        return new SampleRunner(_model, _samples with { Lines = rows }).Run(0, count, cancellationToken);
    }

    private MicroBatch Fill(int first, int count)
    {
        using var format = new JsonlRowFormat(_columns, _model.Signature.Outputs, null);
        var batch = new MicroBatch(_columns, count);
        foreach (var line in _samples.Lines.Skip(first).Take(count))
        {
            batch.BeginRow();
            try
            {
                if (format.Parse(line.Json, line.Number, batch) == RowKind.Request)
                {
                    throw InferenceException.BadRequest("an inference request; samples are plain rows (an object of input names, or an array for a one-input model)");
                }
            }
            catch (InferenceException e)
            {
                throw new OptimizationException($"{_samples.Source} line {line.Number}: {e.Message}", e);
            }
            catch (JsonException e)
            {
                throw new OptimizationException($"{_samples.Source} line {line.Number}: not valid JSON: {e.Message}", e);
            }

            if (batch.Keys.Count > 0)
            {
                throw new OptimizationException($"{_samples.Source} line {line.Number}: a value given by key (a field ending in _key); put the value itself in the line");
            }
        }

        return batch;
    }

    private string Lines(int first, int count) =>
        count == 1 ? $"line {_samples.Lines[first].Number}" : $"lines {_samples.Lines[first].Number}-{_samples.Lines[first + count - 1].Number}";
}

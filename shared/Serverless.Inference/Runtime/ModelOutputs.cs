using Microsoft.ML.OnnxRuntime;
using Serverless.Inference.Protocol;

namespace Serverless.Inference.Runtime;

/// <summary>The outputs of one run, owned by the caller until disposed.</summary>
internal sealed class ModelOutputs : IDisposable
{
    private readonly IDisposable? _owner;

    internal ModelOutputs(IReadOnlyList<TensorSpec> specs, IDisposableReadOnlyCollection<OrtValue> values)
        : this([.. specs.Zip(values, (spec, value) => new OutputTensor(spec.Name, spec.DataType, value))], values)
    {
    }

    /// <param name="owner">Released with the outputs: the native values behind them, if any.</param>
    /// <param name="parameters">What the run adds to the response's parameters, e.g. that a text was truncated.</param>
    public ModelOutputs(IReadOnlyList<OutputTensor> tensors, IDisposable? owner = null, IReadOnlyList<Parameter>? parameters = null)
    {
        Tensors = tensors;
        _owner = owner;
        Parameters = parameters ?? [];
    }

    /// <param name="rowCounts">Parameters that count rows (which rows of the run they counted), so a share of the run counts its own.</param>
    internal ModelOutputs(IReadOnlyList<OutputTensor> tensors, IReadOnlyList<RowCount> rowCounts)
        : this(tensors, null, [.. rowCounts.Select(count => count.ToParameter(0, int.MaxValue)).OfType<Parameter>()])
    {
        RowCounts = rowCounts;
    }

    public IReadOnlyList<OutputTensor> Tensors { get; }

    public IReadOnlyList<Parameter> Parameters { get; }

    internal IReadOnlyList<RowCount> RowCounts { get; } = [];

    public void Dispose() => _owner?.Dispose();
}

/// <summary>A response parameter that counts rows of a run, e.g. the texts a tokenizer truncated.</summary>
/// <param name="Rows">The rows counted, ascending.</param>
internal sealed record RowCount(string Name, IReadOnlyList<int> Rows)
{
    /// <summary>The parameter for rows <paramref name="firstRow"/> to <paramref name="firstRow"/> + <paramref name="rowCount"/>; null when none of them counts.</summary>
    public Parameter? ToParameter(int firstRow, int rowCount)
    {
        var end = (long)firstRow + rowCount;
        var count = Rows.Count(row => row >= firstRow && row < end);
        return count == 0 ? null : new Parameter(Name, System.Text.Encoding.UTF8.GetBytes(count.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }
}

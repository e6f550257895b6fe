using System.Text;
using Serverless.Inference.Runtime;

namespace Serverless.Inference.Optimization.Reports;

/// <summary>One output of a model over all sample rows, kept row by row so two models can be compared after both ran.</summary>
internal sealed class CapturedOutput(string name, TensorDataType dataType)
{
    private readonly List<double[]> _numbers = [];
    private readonly List<string[]> _strings = [];

    public string Name { get; } = name;

    public TensorDataType DataType { get; } = dataType;

    public int Rows => DataType == TensorDataType.Bytes ? _strings.Count : _numbers.Count;

    /// <summary>Each row's elements, for numeric outputs.</summary>
    public IReadOnlyList<double[]> Numbers => _numbers;

    /// <summary>Each row's elements, for BYTES outputs (labels).</summary>
    public IReadOnlyList<string[]> Strings => _strings;

    /// <summary>Captures every output of a run over <paramref name="rows"/> rows, keyed by output name, in order.</summary>
    public static void AddAll(List<CapturedOutput> captured, ModelOutputs outputs, int rows)
    {
        foreach (var tensor in outputs.Tensors)
        {
            var output = captured.Find(c => c.Name == tensor.Name);
            if (output is null)
            {
                output = new CapturedOutput(tensor.Name, tensor.DataType);
                captured.Add(output);
            }

            output.Add(tensor, rows);
        }
    }

    private void Add(OutputTensor tensor, int rows)
    {
        // An output without a batch dimension is one "row" per run.
        var batched = tensor.Shape.Length > 0 && tensor.Shape[0] == rows && rows > 0;
        var perRow = batched ? tensor.ElementCount / rows : tensor.ElementCount;
        for (var row = 0; row < (batched ? rows : 1); row++)
        {
            var start = row * perRow;
            if (DataType == TensorDataType.Bytes)
            {
                _strings.Add([.. Enumerable.Range(start, perRow).Select(i => Encoding.UTF8.GetString(tensor.GetBytes(i)))]);
            }
            else
            {
                _numbers.Add(ReadNumbers(tensor, start, perRow));
            }
        }
    }

    private static double[] ReadNumbers(OutputTensor tensor, int start, int count)
    {
        var values = new double[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = tensor.DataType switch
            {
                TensorDataType.Fp32 => tensor.AsSpan<float>()[start + i],
                TensorDataType.Fp16 => (double)tensor.AsSpan<Half>()[start + i],
                TensorDataType.Fp64 => tensor.AsSpan<double>()[start + i],
                TensorDataType.Int8 => tensor.AsSpan<sbyte>()[start + i],
                TensorDataType.Int16 => tensor.AsSpan<short>()[start + i],
                TensorDataType.Int32 => tensor.AsSpan<int>()[start + i],
                TensorDataType.Int64 => tensor.AsSpan<long>()[start + i],
                TensorDataType.UInt8 or TensorDataType.Bool => tensor.AsSpan<byte>()[start + i],
                TensorDataType.UInt16 => tensor.AsSpan<ushort>()[start + i],
                TensorDataType.UInt32 => tensor.AsSpan<uint>()[start + i],
                TensorDataType.UInt64 => tensor.AsSpan<ulong>()[start + i],
                _ => throw new OptimizationException($"output '{tensor.Name}' is {tensor.DataType.ToProtocolName()}, which the report cannot compare"),
            };
        }

        return values;
    }
}

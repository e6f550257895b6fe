using Serverless.Inference.Protocol;
using Serverless.Inference.Runtime;

namespace Serverless.Inference.Batch;

internal enum RowKind
{
    /// <summary>A plain record, parsed into the micro-batch's next slot and committed.</summary>
    Row,

    /// <summary>A complete OIP inference request, run on its own.</summary>
    Request,

    /// <summary>A blank CSV line: not a row, so it gets no result.</summary>
    Blank,
}

/// <summary>How one file format reads rows into a micro-batch and writes each row's result.</summary>
internal abstract class RowFormat : IDisposable
{
    protected RowFormat(IReadOnlyList<BatchColumn> columns, IReadOnlyList<TensorSpec> outputs)
    {
        Columns = columns;
        Outputs = outputs;
    }

    protected IReadOnlyList<BatchColumn> Columns { get; }

    protected IReadOnlyList<TensorSpec> Outputs { get; }

    public abstract bool HasHeader { get; }

    /// <summary>Reads the header record; throws a BadRequest <see cref="InferenceException"/> when the file cannot be mapped.</summary>
    public virtual void ReadHeader(ReadOnlySpan<byte> record, PooledBufferWriter output)
    {
    }

    /// <summary>
    /// Parses a record into the batch's next slot and commits it, or throws a BadRequest <see cref="InferenceException"/>.
    /// The batch is null when the model's inputs cannot be filled row by row; only request rows work then.
    /// </summary>
    public abstract RowKind Parse(ReadOnlySpan<byte> record, long line, MicroBatch? batch);

    /// <summary>Writes a row's result; <paramref name="row"/> of <paramref name="rows"/> picks its slice of each output.</summary>
    public abstract void WriteRow(PooledBufferWriter output, long line, ReadOnlySpan<byte> record, ModelOutputs outputs, int row, int rows);

    public abstract void WriteError(PooledBufferWriter output, long line, ReadOnlySpan<byte> record, string error);

    public virtual void WriteResponse(PooledBufferWriter output, long line, string modelName, string modelVersion, InferRequest request, ModelOutputs outputs) =>
        throw new NotSupportedException("this format has no request rows");

    public virtual void Dispose()
    {
    }

    /// <summary>The elements of one row in an output: its slice when the output is batched, else the whole output.</summary>
    protected static (int Start, int Count) RowSlice(OutputTensor tensor, int row, int rows)
    {
        if (tensor.Shape.Length > 0 && tensor.Shape[0] == rows && rows > 0)
        {
            var perRow = tensor.ElementCount / rows;
            return (row * perRow, perRow);
        }

        return (0, tensor.ElementCount);
    }
}

namespace Serverless.Inference.Optimization.Reports;

/// <summary>How far the variant's output is from the source's over the sample rows; a figure is null where it does not apply.</summary>
/// <param name="Rows">The rows compared.</param>
/// <param name="MaxAbsDiff">The largest absolute difference of any element (numeric outputs).</param>
/// <param name="MeanAbsDiff">The mean absolute difference over all elements (numeric outputs).</param>
/// <param name="MeanCosine">The mean, over rows, of the cosine similarity of the row's vectors (float outputs of more than one value per row).</param>
/// <param name="MinCosine">The lowest row's cosine similarity.</param>
/// <param name="Top1Agreement">The share of rows whose top-1 is the same: the label (BYTES or integer outputs), or the argmax of a score vector where the model has no label output.</param>
internal sealed record OutputDifference(
    string Name,
    string Datatype,
    int Rows,
    double? MaxAbsDiff,
    double? MeanAbsDiff,
    double? MeanCosine,
    double? MinCosine,
    double? Top1Agreement);

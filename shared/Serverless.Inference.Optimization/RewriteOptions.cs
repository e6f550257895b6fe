namespace Serverless.Inference.Optimization;

/// <summary>Choices within a method.</summary>
/// <param name="PerChannel">Weights get one scale per output channel rather than one per tensor.</param>
/// <param name="QuantizeEmbeddings">int8-dynamic also stores the tables read by Gather (word embeddings) as int8.</param>
/// <param name="CalibrationRows">int8-static reads at most this many calibration rows.</param>
internal sealed record RewriteOptions(bool PerChannel = true, bool QuantizeEmbeddings = true, int CalibrationRows = 256)
{
    public static RewriteOptions Default { get; } = new();
}

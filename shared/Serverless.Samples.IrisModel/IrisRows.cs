using Microsoft.ML.Data;

namespace Serverless.Samples.IrisModel;

internal sealed record IrisRow(
    [property: LoadColumn(0)] float SepalLength,
    [property: LoadColumn(1)] float SepalWidth,
    [property: LoadColumn(2)] float PetalLength,
    [property: LoadColumn(3)] float PetalWidth,
    [property: LoadColumn(4)] string Species);

internal sealed record IrisFeatures([property: VectorType(4)] float[] Features);

internal sealed record ExpectedOutputs(float[][] Inputs, float[][] Scores, string[] Labels);

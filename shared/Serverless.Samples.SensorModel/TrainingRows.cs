using Microsoft.ML.Data;

namespace Serverless.Samples.SensorModel;

/// <summary>A labelled reading as ML.NET trains on it; the column names become the ONNX model's input names.</summary>
internal sealed record TrainingRow(
    [property: ColumnName("temperature")] float Temperature,
    [property: ColumnName("vibration")] float Vibration,
    [property: ColumnName("pressure")] float Pressure,
    [property: ColumnName("rpm")] float Rpm,
    string Label)
{
    public static TrainingRow From(SensorReading r) => new(r.Temperature, r.Vibration, r.Pressure, r.Rpm, r.Label);
}

/// <summary>The readings alone: the inputs the exported model keeps.</summary>
internal sealed record SensorFeatures(
    [property: ColumnName("temperature")] float Temperature,
    [property: ColumnName("vibration")] float Vibration,
    [property: ColumnName("pressure")] float Pressure,
    [property: ColumnName("rpm")] float Rpm);

internal sealed record ExpectedOutputs(float[][] Inputs, float[][] Scores, string[] Labels);

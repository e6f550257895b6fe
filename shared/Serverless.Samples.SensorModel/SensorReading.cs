namespace Serverless.Samples.SensorModel;

/// <summary>
/// One reading of a simulated pump: temperature in °C, vibration in mm/s RMS, outlet pressure in bar, shaft speed
/// in rpm. <paramref name="Label"/> is the truth the simulation knows ("normal" or "failure"); it is never written
/// to the readings a stream carries.
/// </summary>
internal sealed record SensorReading(string SensorId, int Step, float Temperature, float Vibration, float Pressure, float Rpm, string Label);

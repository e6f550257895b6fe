namespace Serverless.Samples.SensorModel;

/// <summary>
/// Simulated pumps with a seeded random source, so a seed always gives the same readings. A healthy pump's readings
/// wander with noise around its operating point; a pump heading for a bearing failure degrades over
/// <see cref="DegradationSteps"/> readings: friction heats it and shakes it, the worn seal lets pressure drop and
/// the load pulls the speed down, each a little more every step. Its readings in the last
/// <see cref="FailureSteps"/> steps before the failure point are labelled "failure" (the part an operator must act on);
/// every other reading is "normal".
/// </summary>
internal sealed class SensorSimulation(int seed)
{
    public const string Normal = "normal";
    public const string Failure = "failure";

    /// <summary>Readings over which a failing pump drifts from its operating point to the failure point.</summary>
    public const int DegradationSteps = 40;

    /// <summary>The last readings before the failure point, labelled "failure".</summary>
    public const int FailureSteps = 15;

    private readonly Random _random = new(seed);

    /// <summary>
    /// <paramref name="steps"/> readings of one pump; with <paramref name="failAt"/>, the pump reaches the failure
    /// point at that step (degrading over the <see cref="DegradationSteps"/> before it) and stays there.
    /// </summary>
    public IEnumerable<SensorReading> Readings(string sensorId, int steps, int? failAt)
    {
        // Each pump has its own operating point, so the model cannot learn one pump's numbers by heart.
        var temperature = 60 + Gaussian(3);
        var vibration = 2.0 + Gaussian(0.25);
        var pressure = 5.0 + Gaussian(0.2);
        var rpm = 1480 + Gaussian(15);
        for (var step = 0; step < steps; step++)
        {
            var wear = failAt is { } at ? Math.Clamp(1 - ((at - step) / (double)DegradationSteps), 0, 1) : 0;
            // Wear grows slowly at first and fast near the end, as a bearing's does.
            var damage = wear * wear;
            var label = failAt is { } end && step > end - FailureSteps ? Failure : Normal;
            yield return new SensorReading(
                sensorId,
                step,
                (float)Math.Round(temperature + (28 * damage) + Gaussian(1.5), 2),
                (float)Math.Round(Math.Max(0.05, vibration + (5.5 * damage) + Gaussian(0.35)), 3),
                (float)Math.Round(pressure - (1.6 * damage) + Gaussian(0.12), 3),
                (float)Math.Round(rpm - (90 * damage) + Gaussian(12), 1),
                label);
        }
    }

    /// <summary>
    /// A fleet's history for training or testing: <paramref name="pumps"/> pumps, every third one failing at a
    /// random step past its degradation, each with <paramref name="steps"/> readings.
    /// </summary>
    public IEnumerable<SensorReading> Fleet(int pumps, int steps, string prefix)
    {
        for (var pump = 0; pump < pumps; pump++)
        {
            int? failAt = pump % 3 == 2 ? _random.Next(DegradationSteps, steps) : null;
            foreach (var reading in Readings($"{prefix}{pump:D3}", steps, failAt))
            {
                yield return reading;
            }
        }
    }

    private double Gaussian(double deviation)
    {
        // Box-Muller: two uniform draws make one standard normal draw.
        var u = 1 - _random.NextDouble();
        var v = _random.NextDouble();
        return deviation * Math.Sqrt(-2 * Math.Log(u)) * Math.Cos(2 * Math.PI * v);
    }
}

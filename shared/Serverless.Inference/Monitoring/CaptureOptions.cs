namespace Serverless.Inference.Monitoring;

/// <summary>How a process buffers and writes prediction capture records.</summary>
public sealed class CaptureOptions
{
    /// <summary>The most memory records may hold while they wait to be written; records beyond it are dropped and counted.</summary>
    public long BufferBytes { get; set; } = 8L << 20;

    /// <summary>An object is written once its records reach this size.</summary>
    public int ObjectBytes { get; set; } = 1 << 20;

    /// <summary>An object is written once its first record is this old, however small it is.</summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Whether a background loop writes objects as they come due by age. Off where the process may be frozen between
    /// invocations (Lambda): there the host calls <see cref="PredictionCapture.FlushAsync"/> at the end of each one.
    /// </summary>
    public bool BackgroundFlush { get; set; } = true;

    /// <summary>How long one object's write may take before it is given up and its records dropped.</summary>
    public TimeSpan StoreTimeout { get; set; } = TimeSpan.FromSeconds(30);

    internal void Validate()
    {
        if (ObjectBytes < CaptureBuffer.ChunkBytes || BufferBytes < 2L * ObjectBytes)
        {
            throw new ArgumentException($"capture: ObjectBytes must be at least {CaptureBuffer.ChunkBytes} and BufferBytes at least twice ObjectBytes");
        }

        if (MaxAge <= TimeSpan.Zero || StoreTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException("capture: MaxAge and StoreTimeout must be positive");
        }
    }
}

namespace Serverless.Inference.Streaming;

public sealed class StreamProcessorOptions
{
    /// <summary>
    /// How many times a run is scored again after another writer saved one of its keys' state first; past it, the
    /// batch is left uncommitted from that run on, for the source to deliver again.
    /// </summary>
    public int MaxStateAttempts { get; init; } = 5;
}

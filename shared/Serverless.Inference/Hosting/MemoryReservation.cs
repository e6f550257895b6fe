namespace Serverless.Inference.Hosting;

/// <summary>Memory held for one run; disposing it lets the next waiting run go.</summary>
internal sealed class MemoryReservation : IDisposable
{
    private RequestMemoryGate? _gate;

    internal MemoryReservation(RequestMemoryGate gate, long bytes)
    {
        _gate = gate;
        Bytes = bytes;
    }

    public long Bytes { get; }

    public void Dispose() => Interlocked.Exchange(ref _gate, null)?.Release(Bytes);
}

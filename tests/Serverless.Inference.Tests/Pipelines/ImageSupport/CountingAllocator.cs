using System.Buffers;
using SixLabors.ImageSharp.Memory;

namespace Serverless.Inference.Tests.Pipelines.ImageSupport;

/// <summary>
/// An ImageSharp allocator that counts what it hands out. ImageSharp keeps pixel buffers in unmanaged memory, which
/// <see cref="GC.GetAllocatedBytesForCurrentThread"/> never sees; counting here does.
/// </summary>
public sealed class CountingAllocator : MemoryAllocator
{
    private readonly MemoryAllocator _inner = new SimpleGcMemoryAllocator();
    private long _bytes;
    private long _largest;

    /// <summary>Every byte requested so far.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>The largest single request, in bytes.</summary>
    public long Largest => Interlocked.Read(ref _largest);

    public override IMemoryOwner<T> Allocate<T>(int length, AllocationOptions options = AllocationOptions.None)
    {
        long size = (long)length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        Interlocked.Add(ref _bytes, size);
        long seen;
        while (size > (seen = Interlocked.Read(ref _largest)) && Interlocked.CompareExchange(ref _largest, size, seen) != seen)
        {
        }

        return _inner.Allocate<T>(length, options);
    }

    protected override int GetBufferCapacityInBytes() => 64 * 1024 * 1024;
}

using Microsoft.Extensions.Time.Testing;
using Serverless.Inference.Hosting;

namespace Serverless.Inference.Tests.Hosting;

public sealed class RequestMemoryGateTests
{
    private const long Mb = 1 << 20;
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public async Task EnterAsync_MoreThanTheWholeCapacity_PayloadTooLargeBeforeWaiting()
    {
        var gate = Gate(capacityMb: 100);

        var error = await Assert.ThrowsAsync<InferenceException>(async () => await gate.EnterAsync(101 * Mb, MemoryWait.Online, CancellationToken.None));

        Assert.Equal(InferenceErrorKind.PayloadTooLarge, error.Kind);
        Assert.Equal("this request needs an estimated 101 MB of working memory; this instance has 100 MB for running requests: send fewer rows or shorter inputs", error.Message);
        Assert.Equal(0, gate.InUseBytes);
    }

    [Fact]
    public async Task EnterAsync_WhatFits_GrantedAtOnceAndGivenBackOnDispose()
    {
        var gate = Gate(capacityMb: 100);

        using (var first = await gate.EnterAsync(60 * Mb, MemoryWait.Online, CancellationToken.None))
        using (var second = await gate.EnterAsync(40 * Mb, MemoryWait.Online, CancellationToken.None))
        {
            Assert.Equal(100 * Mb, gate.InUseBytes);
        }

        Assert.Equal(0, gate.InUseBytes);
    }

    [Fact]
    public async Task EnterAsync_DoesNotFitYet_WaitsUntilARunEndsThenRuns()
    {
        var gate = Gate(capacityMb: 100);
        var running = await gate.EnterAsync(70 * Mb, MemoryWait.Online, CancellationToken.None);

        var waiting = gate.EnterAsync(50 * Mb, MemoryWait.Online, CancellationToken.None).AsTask();
        Assert.False(waiting.IsCompleted);

        running.Dispose();
        using var granted = await waiting;
        Assert.Equal(50 * Mb, gate.InUseBytes);
    }

    [Fact]
    public async Task EnterAsync_LineFull_TooManyRequestsAtOnce()
    {
        var gate = Gate(capacityMb: 100, maxWaiting: 2);
        using var running = await gate.EnterAsync(100 * Mb, MemoryWait.Online, CancellationToken.None);
        var first = gate.EnterAsync(10 * Mb, MemoryWait.Online, CancellationToken.None).AsTask();
        var second = gate.EnterAsync(10 * Mb, MemoryWait.Online, CancellationToken.None).AsTask();

        var error = await Assert.ThrowsAsync<InferenceException>(async () => await gate.EnterAsync(10 * Mb, MemoryWait.Online, CancellationToken.None));

        Assert.Equal(InferenceErrorKind.TooManyRequests, error.Kind);
        Assert.StartsWith("the server is busy", error.Message, StringComparison.Ordinal);
        Assert.False(first.IsCompleted || second.IsCompleted);
    }

    [Fact]
    public async Task EnterAsync_BatchRuns_WaitBeyondTheOnlineLine()
    {
        var gate = Gate(capacityMb: 100, maxWaiting: 0);
        var running = await gate.EnterAsync(100 * Mb, MemoryWait.Online, CancellationToken.None);

        var batch = gate.EnterAsync(10 * Mb, MemoryWait.Batch, CancellationToken.None).AsTask();
        _time.Advance(TimeSpan.FromMinutes(5));
        Assert.False(batch.IsCompleted);

        running.Dispose();
        using var granted = await batch;
        Assert.Equal(10 * Mb, gate.InUseBytes);
    }

    [Fact]
    public async Task EnterAsync_OnlineWaitPastTheMaximum_TooManyRequestsAndItsPlaceFreed()
    {
        var gate = Gate(capacityMb: 100, maxWait: TimeSpan.FromSeconds(10));
        var running = await gate.EnterAsync(100 * Mb, MemoryWait.Online, CancellationToken.None);
        var waiting = gate.EnterAsync(80 * Mb, MemoryWait.Online, CancellationToken.None).AsTask();
        var behind = gate.EnterAsync(10 * Mb, MemoryWait.Batch, CancellationToken.None).AsTask();

        _time.Advance(TimeSpan.FromSeconds(10));

        var error = await Assert.ThrowsAsync<InferenceException>(() => waiting);
        Assert.Equal(InferenceErrorKind.TooManyRequests, error.Kind);
        running.Dispose();
        using var granted = await behind;
        Assert.Equal(10 * Mb, gate.InUseBytes);
    }

    [Fact]
    public async Task EnterAsync_Cancelled_LeavesTheLineAndTheNextIsServed()
    {
        var gate = Gate(capacityMb: 100);
        var running = await gate.EnterAsync(90 * Mb, MemoryWait.Online, CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var big = gate.EnterAsync(50 * Mb, MemoryWait.Online, cancel.Token).AsTask();
        var small = gate.EnterAsync(10 * Mb, MemoryWait.Online, CancellationToken.None).AsTask();
        Assert.False(small.IsCompleted);

        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => big);
        using var granted = await small;
        Assert.Equal(100 * Mb, gate.InUseBytes);
        running.Dispose();
    }

    [Fact]
    public async Task EnterAsync_InOrder_ALargeRequestIsNotOvertakenBySmallOnes()
    {
        var gate = Gate(capacityMb: 100);
        var running = await gate.EnterAsync(60 * Mb, MemoryWait.Online, CancellationToken.None);
        var large = gate.EnterAsync(80 * Mb, MemoryWait.Online, CancellationToken.None).AsTask();
        // It would fit beside the running one, but the large request came first.
        var small = gate.EnterAsync(30 * Mb, MemoryWait.Online, CancellationToken.None).AsTask();

        Assert.False(small.IsCompleted);
        running.Dispose();

        using var first = await large;
        Assert.False(small.IsCompleted);
        first.Dispose();
        using var second = await small;
    }

    [Fact]
    public async Task Dispose_Twice_GivesBackOnce()
    {
        var gate = Gate(capacityMb: 100);
        var reservation = await gate.EnterAsync(30 * Mb, MemoryWait.Online, CancellationToken.None);
        using var other = await gate.EnterAsync(20 * Mb, MemoryWait.Online, CancellationToken.None);

        reservation.Dispose();
        reservation.Dispose();

        Assert.Equal(20 * Mb, gate.InUseBytes);
    }

    private RequestMemoryGate Gate(long capacityMb, int maxWaiting = 8, TimeSpan? maxWait = null) =>
        new(capacityMb * Mb, maxWaiting, maxWait ?? TimeSpan.FromSeconds(10), _time);
}

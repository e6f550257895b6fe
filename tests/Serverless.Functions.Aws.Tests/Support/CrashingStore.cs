using Serverless.Inference.Batch;

namespace Serverless.Functions.Aws.Tests.Support;

/// <summary>
/// The real S3 store, with the invocation dying once at the first predictions object: between a run's state saved and its
/// object created. A process cannot be killed in the middle of an in-process test, so the failure the core does not
/// catch (it treats running out of memory as fatal) stands in for the environment ending there; Lambda then sees a
/// failed invocation, as it would after a crash or a timeout kill.
/// </summary>
internal sealed class CrashingStore(IBatchStore inner) : IBatchStore
{
    private int _crashed;

    public string Description => inner.Description;

    public Task<bool> CreateAsync(string key, Stream content, CancellationToken cancellationToken) =>
        key.StartsWith(LambdaContract.PredictionsPrefix, StringComparison.Ordinal) && Interlocked.Exchange(ref _crashed, 1) == 0
#pragma warning disable CA2201 // The one failure the core lets through, as it would a real out-of-memory: the stand-in for a crash.
            ? throw new OutOfMemoryException("the execution environment ended here")
#pragma warning restore CA2201
            : inner.CreateAsync(key, content, cancellationToken);

    public Task<BatchObject?> StatAsync(string key, CancellationToken cancellationToken) => inner.StatAsync(key, cancellationToken);

    public Task<Stream> OpenReadAsync(BatchObject pinned, long offset, long? length, CancellationToken cancellationToken) =>
        inner.OpenReadAsync(pinned, offset, length, cancellationToken);

    public Task<bool> ComposeAsync(string key, IReadOnlyList<BatchObject> parts, CancellationToken cancellationToken) => inner.ComposeAsync(key, parts, cancellationToken);

    public Task WriteAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) => inner.WriteAsync(key, content, cancellationToken);

    public Task<bool> DeleteAsync(BatchObject pinned, CancellationToken cancellationToken) => inner.DeleteAsync(pinned, cancellationToken);

    public IAsyncEnumerable<BatchObject> ListAsync(string prefix, CancellationToken cancellationToken) => inner.ListAsync(prefix, cancellationToken);
}

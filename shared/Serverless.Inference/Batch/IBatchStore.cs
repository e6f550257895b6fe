namespace Serverless.Inference.Batch;

/// <summary>
/// Where batch files arrive and results go: a local folder, a Blob Storage account, an S3 bucket. Keys are relative,
/// with forward slashes (<c>incoming/...</c>, <c>outgoing/...</c>, <c>failed/...</c>); each store maps them to its
/// backend. Stores offer primitives only: what to do with them (moves, attempts, failed/, error documents) is
/// decided once, by <see cref="BatchJobRunner"/>.
/// </summary>
/// <remarks>
/// Every backend failure comes out as a <see cref="BatchStoreException"/>; a pinned object that changed or vanished
/// as a <see cref="BatchObjectChangedException"/> (one of them). Cancellation through the token is the only other
/// exception a store lets through.
/// </remarks>
public interface IBatchStore
{
    /// <summary>Where the store points (a folder, an account or bucket URI): for the log only, never for error documents.</summary>
    string Description { get; }

    /// <summary>The object's identity, size and time, or null when it does not exist.</summary>
    Task<BatchObject?> StatAsync(string key, CancellationToken cancellationToken);

    /// <summary>
    /// Streams the bytes of exactly the object <paramref name="pinned"/> describes, from <paramref name="offset"/> for
    /// <paramref name="length"/> bytes (to the end when null; a range past the end is cut at the end). When the object
    /// was replaced or removed since it was stat'ed, the open or a read throws <see cref="BatchObjectChangedException"/>.
    /// </summary>
    Task<Stream> OpenReadAsync(BatchObject pinned, long offset, long? length, CancellationToken cancellationToken);

    /// <summary>Creates the object only if no object has the key (If-None-Match: *); false when one already does.</summary>
    /// <param name="content">Read from its current position to its end.</param>
    Task<bool> CreateAsync(string key, Stream content, CancellationToken cancellationToken);

    /// <summary>
    /// Creates <paramref name="key"/> only if no object has it, from the contents of <paramref name="parts"/> in order,
    /// without holding them in memory: by server-side copies where the backend has them (S3 UploadPartCopy, Blob Put
    /// Block From URL). Each part is read pinned: a part replaced or removed since it was stat'ed throws
    /// <see cref="BatchObjectChangedException"/> and nothing is created.
    /// </summary>
    /// <returns>False when the key is already taken.</returns>
    Task<bool> ComposeAsync(string key, IReadOnlyList<BatchObject> parts, CancellationToken cancellationToken);

    /// <summary>Creates or replaces a small object, such as an attempt counter.</summary>
    Task WriteAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken);

    /// <summary>Deletes the object only if it is still the one <paramref name="pinned"/> describes; false when it changed or is gone.</summary>
    Task<bool> DeleteAsync(BatchObject pinned, CancellationToken cancellationToken);

    /// <summary>Every object whose key starts with <paramref name="prefix"/>, a folder ending in '/', in no promised order.</summary>
    IAsyncEnumerable<BatchObject> ListAsync(string prefix, CancellationToken cancellationToken);
}

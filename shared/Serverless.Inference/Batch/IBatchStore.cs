namespace Serverless.Inference.Batch;

/// <summary>
/// Where batch files arrive and results go: a local folder, a Blob Storage account, an S3 bucket.
/// Keys are relative, with forward slashes: <c>incoming/...</c>, <c>outgoing/...</c>, <c>failed/...</c>.
/// </summary>
public interface IBatchStore
{
    string Description { get; }

    /// <summary>The object's identity (content hash, ETag or version) and size, or null when it does not exist.</summary>
    Task<BatchObject?> StatAsync(string key, CancellationToken cancellationToken);

    Task<Stream> OpenReadAsync(string key, CancellationToken cancellationToken);

    /// <summary>Creates the object only if no object has the key (If-None-Match: *); false when one already does.</summary>
    Task<bool> CreateAsync(string key, Stream content, CancellationToken cancellationToken);

    /// <summary>Creates or replaces a small object, such as an attempt counter.</summary>
    Task WriteAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken);

    /// <summary>
    /// Copies the object to a new key (create-only; a taken key gets a unique suffix) and then removes the original.
    /// </summary>
    /// <returns>The key the object now has.</returns>
    Task<string> MoveAsync(string from, string to, CancellationToken cancellationToken);
}

public sealed record BatchObject(string Key, string Identity, long Length);

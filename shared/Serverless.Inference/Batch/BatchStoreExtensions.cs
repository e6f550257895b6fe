namespace Serverless.Inference.Batch;

public static class BatchStoreExtensions
{
    /// <summary>The whole object, pinned to what <paramref name="pinned"/> describes.</summary>
    public static Task<Stream> OpenReadAsync(this IBatchStore store, BatchObject pinned, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        return store.OpenReadAsync(pinned, 0, null, cancellationToken);
    }

    /// <summary>
    /// <see cref="IBatchStore.ComposeAsync"/> for a backend without server-side copies, or for parts too small for them:
    /// the parts streamed, pinned, into one file in <paramref name="workDirectory"/>, then one create-only write.
    /// Memory stays flat whatever the sizes; the disk holds the result once.
    /// </summary>
    public static async Task<bool> ComposeThroughFileAsync(this IBatchStore store, string key, IReadOnlyList<BatchObject> parts, string workDirectory, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(parts);
        var staged = Path.Combine(workDirectory, $"compose-{Guid.NewGuid():N}");
        await using var file = new FileStream(staged, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
        foreach (var part in parts)
        {
            await using var content = await store.OpenReadAsync(part, 0, null, cancellationToken).ConfigureAwait(false);
            await content.CopyToAsync(file, cancellationToken).ConfigureAwait(false);
        }

        file.Position = 0;
        return await store.CreateAsync(key, file, cancellationToken).ConfigureAwait(false);
    }
}

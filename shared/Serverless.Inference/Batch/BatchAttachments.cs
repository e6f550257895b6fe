using Serverless.Inference.Repository;

namespace Serverless.Inference.Batch;

/// <summary>
/// Objects a batch row names instead of carrying them: a BYTES input given as a key (a CSV column or JSON field
/// <c>&lt;input&gt;_key</c>, e.g. <c>image_key</c>) is read from the store the file came from.
/// </summary>
public interface IBatchAttachments
{
    /// <summary>The object's bytes; a BadRequest <see cref="InferenceException"/> (the row's error) when the key is invalid, missing or too large.</summary>
    Task<byte[]> ReadAsync(string key, CancellationToken cancellationToken);
}

/// <summary>Reads attachments from a batch store, each at most <c>maxBytes</c>, its key checked segment by segment first.</summary>
public sealed class StoreAttachments(IBatchStore store, int maxBytes) : IBatchAttachments
{
    public const int DefaultMaxBytes = 20 << 20;

    public async Task<byte[]> ReadAsync(string key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        var segments = key.Split('/');
        // The batch layout's own folders are never attachments: reading results or failed files as inputs is a mistake.
        if (segments.Any(segment => !ModelNames.IsValidFileName(segment)) || segments[0] is BatchKey.Outgoing or BatchKey.Failed)
        {
            throw InferenceException.BadRequest(
                $"'{ModelNames.Printable(key)}' is not a valid key: each '/'-separated part must match {ModelNames.Rule} without '..', outside {BatchKey.Outgoing}/ and {BatchKey.Failed}/");
        }

        var stat = await store.StatAsync(key, cancellationToken).ConfigureAwait(false)
            ?? throw InferenceException.BadRequest($"'{key}' does not exist in {store.Description}");
        if (stat.Length > maxBytes)
        {
            throw InferenceException.BadRequest($"'{key}' is {stat.Length} bytes, over the {maxBytes}-byte limit for one attachment");
        }

        await using var source = await store.OpenReadAsync(key, cancellationToken).ConfigureAwait(false);
        // Read at most one byte past the limit: an object that grew since it was stat'ed is still refused, not buffered.
        var buffer = new byte[checked((int)Math.Min(stat.Length + 1, (long)maxBytes + 1))];
        var read = 0;
        while (read < buffer.Length && await source.ReadAsync(buffer.AsMemory(read), cancellationToken).ConfigureAwait(false) is > 0 and var count)
        {
            read += count;
        }

        return read > maxBytes
            ? throw InferenceException.BadRequest($"'{key}' is over the {maxBytes}-byte limit for one attachment")
            : buffer.AsSpan(0, read).ToArray();
    }
}

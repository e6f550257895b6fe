using Serverless.Inference.Repository;

namespace Serverless.Inference.Batch;

/// <summary>
/// Reads attachments from a batch store, each at most <c>maxBytes</c>. The key passes the key rule and must not lie
/// under what the app writes itself: outgoing/ and failed/, captured predictions, stream predictions and stream state
/// (a batch row must never read another caller's results or captured inputs); the store may refuse more (Blob Storage
/// reads only the app's own containers). Keep attachments under <c>incoming/_attachments/</c>: readable on every
/// store, and never scored themselves.
/// </summary>
public sealed class StoreAttachments(IBatchStore store, int maxBytes) : IBatchAttachments
{
    public const int DefaultMaxBytes = 20 << 20;

    private static readonly HashSet<string> WrittenByTheApp =
        new([BatchKey.Outgoing, BatchKey.Failed, Monitoring.PredictionCapture.Folder, Streaming.StreamKeys.PredictionsFolder, Streaming.StreamKeys.StateFolder], StringComparer.Ordinal);

    public async Task<byte[]> ReadAsync(string key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        var problem = BatchKeyRule.Problem(key);
        var folder = key.Split('/')[0];
        if (problem is not null || WrittenByTheApp.Contains(folder))
        {
            throw InferenceException.BadRequest(
                $"'{ModelNames.Printable(key)}' is not a valid key for an attachment: {problem ?? $"it is under {folder}/, which holds what this app writes"}");
        }

        try
        {
            var stat = await store.StatAsync(key, cancellationToken).ConfigureAwait(false)
                ?? throw InferenceException.BadRequest($"'{key}' does not exist");
            if (stat.Length > maxBytes)
            {
                throw InferenceException.BadRequest($"'{key}' is {stat.Length} bytes, over the {maxBytes}-byte limit for one attachment");
            }

            await using var source = await store.OpenReadAsync(stat, cancellationToken).ConfigureAwait(false);
            // One byte of room past the size: the read must reach the end, where a pinned stream checks the bytes were the object's.
            var buffer = new byte[stat.Length + 1];
            var read = 0;
            while (read < buffer.Length && await source.ReadAsync(buffer.AsMemory(read), cancellationToken).ConfigureAwait(false) is > 0 and var count)
            {
                read += count;
            }

            return read == stat.Length ? buffer.AsSpan(0, read).ToArray() : throw new BatchObjectChangedException($"'{key}' changed while it was read");
        }
        catch (BatchStoreException e) when (e.KeyRefused)
        {
            throw InferenceException.BadRequest($"'{ModelNames.Printable(key)}' cannot be read: {e.Message}");
        }
        catch (BatchObjectChangedException)
        {
            throw InferenceException.BadRequest($"'{key}' changed while it was read");
        }
    }
}

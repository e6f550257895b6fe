using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Serverless.Inference.Protocol;

namespace Serverless.Inference.Batch;

/// <summary>
/// What the batch contract does with a store's primitives, written once for every store: moving a file with a
/// create-only copy (never deleting a source that was not copied), attempt counters, and error documents.
/// </summary>
internal sealed class BatchFiles(IBatchStore store, TimeProvider time, string workDirectory)
{
    /// <summary>Tries for a free name when the wanted one is taken: the name itself, then this many unique suffixes.</summary>
    private const int UniqueTries = 3;

    public IBatchStore Store => store;

    /// <summary>
    /// Copies exactly the pinned object to <paramref name="to"/> (or, when taken, beside it under a unique suffix) and
    /// then deletes the source if it is still the pinned object. The copy is staged in the work directory, so the
    /// source is read once whatever the destination does.
    /// </summary>
    /// <returns>The key of the copy, and whether the source was deleted (false: it changed since, and stays).</returns>
    /// <exception cref="BatchObjectChangedException">The source changed before it was copied: nothing was copied or deleted.</exception>
    /// <exception cref="BatchStoreException">No copy could be made; the source is untouched.</exception>
    public async Task<(string Key, bool SourceDeleted)> MoveAsync(BatchObject source, string to, CancellationToken cancellationToken)
    {
        var staged = Path.Combine(workDirectory, $"move-{Guid.NewGuid():N}");
        await using var copy = new FileStream(staged, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
        await using (var content = await store.OpenReadAsync(source, cancellationToken).ConfigureAwait(false))
        {
            await content.CopyToAsync(copy, cancellationToken).ConfigureAwait(false);
        }

        copy.Position = 0;
        var destination = await CreateUniqueAsync(to, copy, cancellationToken).ConfigureAwait(false);
        return (destination, await store.DeleteAsync(source, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Creates <paramref name="key"/>, or a unique name beside it when it is taken.</summary>
    /// <returns>The key created.</returns>
    public async Task<string> CreateUniqueAsync(string key, Stream content, CancellationToken cancellationToken)
    {
        var start = content.Position;
        for (var attempt = 0; attempt <= UniqueTries; attempt++)
        {
            var candidate = attempt == 0 ? key : UniqueBeside(key);
            content.Position = start;
            if (await store.CreateAsync(candidate, content, cancellationToken).ConfigureAwait(false))
            {
                return candidate;
            }
        }

        throw new BatchStoreException($"'{key}' and every unique name tried beside it are taken");
    }

    public async Task<int> ReadAttemptsAsync(string key, CancellationToken cancellationToken)
    {
        if (await store.StatAsync(key, cancellationToken).ConfigureAwait(false) is not { Length: < 32 } counter)
        {
            return 0;
        }

        try
        {
            await using var stream = await store.OpenReadAsync(counter, cancellationToken).ConfigureAwait(false);
            using var reader = new StreamReader(stream);
            return int.TryParse(await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture, out var n) ? n : 0;
        }
        catch (BatchObjectChangedException)
        {
            // A racing run rewrote the counter: it is counting this file too.
            return 0;
        }
    }

    public Task WriteAttemptsAsync(string key, int attempts, CancellationToken cancellationToken) =>
        store.WriteAsync(key, Encoding.UTF8.GetBytes(attempts.ToString(CultureInfo.InvariantCulture)), cancellationToken);

    /// <summary>An error document: what failed, why, when, and where the input now is.</summary>
    public byte[] ErrorDocument(string input, string? inputIdentity, string error, int attempts, string? movedTo, string? moveError = null)
    {
        using var buffer = new PooledBufferWriter(512);
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = InferResponseWriter.WriterOptions.Encoder }))
        {
            json.WriteStartObject();
            json.WriteString("input", input);
            if (inputIdentity is not null)
            {
                json.WriteString("input_identity", inputIdentity);
            }

            json.WriteString("error", error);
            json.WriteNumber("attempts", attempts);
            json.WriteString("failed_at", time.GetUtcNow());
            json.WriteString("moved_to", movedTo);
            if (moveError is not null)
            {
                json.WriteString("move_error", moveError);
            }

            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static string UniqueBeside(string key) => $"{key}.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}";
}

using System.Collections.Concurrent;
using System.Text.Json;
using Serverless.Inference.Batch;

namespace Serverless.Inference.Streaming;

/// <summary>
/// Per-key state in a batch store, as numbered generations written create-only: saving generation g+1 succeeds for one
/// writer only, and the loser reads the winner's generation and scores its run again. That is compare-and-swap with
/// nothing but <see cref="IBatchStore.CreateAsync"/>, which every store offers (If-None-Match on S3 and Blob Storage, an
/// atomic link in a folder). The last generation of each key is remembered; a newer one another instance wrote is found
/// by probing the next number. A generation counts only once its run's predictions object exists: one saved by a run that
/// died before writing its predictions is passed over, because its records come again, perhaps grouped into other runs
/// (Lambda bisects a failed batch), and must be scored on the state before them.
/// </summary>
internal sealed class StreamStateStore(IBatchStore store)
{
    private const int MaxCachedKeys = 10_000;
    private const int MaxDocumentBytes = 64 << 20;

    private readonly ConcurrentDictionary<string, Head> _heads = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _committedRuns = new(StringComparer.Ordinal);

    public async Task<StreamStateLoad> LoadAsync(string model, IEnumerable<string> partitionKeys, string run, CancellationToken cancellationToken)
    {
        var state = new StreamState();
        var heads = new Dictionary<string, StreamStateHead>(StringComparer.Ordinal);
        foreach (var key in partitionKeys)
        {
            if (heads.ContainsKey(key))
            {
                continue;
            }

            var folder = StreamKeys.KeyFolder(model, key);
            var head = await HeadAsync(folder, cancellationToken).ConfigureAwait(false);
            var document = head.Document;
            var ours = document?.Run == run;
            var generation = head.Generation;
            if (ours)
            {
                generation--;
                document = generation > 0 ? await ReadAsync(folder, generation, cancellationToken).ConfigureAwait(false) : null;
            }

            while (document is not null && !await IsCommittedAsync(document.Run, cancellationToken).ConfigureAwait(false))
            {
                // Two runs died in a row on this key and the generation before is deleted: the key starts afresh.
                generation--;
                document = generation > 0 ? await ReadAsync(folder, generation, cancellationToken).ConfigureAwait(false) : null;
            }

            state.Set(key, document?.ToState() ?? new StreamKeyState());
            heads[key] = new StreamStateHead(folder, head.Generation, ours);
        }

        return new StreamStateLoad(state, heads);
    }

    /// <summary>Saves the keys the run changed, each as its next generation.</summary>
    /// <returns>False when another writer saved a key first: load again and score the run again.</returns>
    public async Task<bool> SaveAsync(StreamStateLoad load, string run, CancellationToken cancellationToken)
    {
        foreach (var (key, state) in load.State.Keys)
        {
            var head = load.Heads[key];
            if (head.Ours || !state.Changed)
            {
                continue;
            }

            var document = StreamKeyDocument.From(run, state);
            var bytes = JsonSerializer.SerializeToUtf8Bytes(document, StreamJsonContext.Default.StreamKeyDocument);
            using var content = new MemoryStream(bytes, writable: false);
            if (!await store.CreateAsync(StreamKeys.Generation(head.Folder, head.Generation + 1), content, cancellationToken).ConfigureAwait(false))
            {
                _heads.TryRemove(head.Folder, out _);
                return false;
            }

            Remember(head.Folder, new Head(head.Generation + 1, document));
            if (head.Generation > 1)
            {
                await DeleteAsync(StreamKeys.Generation(head.Folder, head.Generation - 1), cancellationToken).ConfigureAwait(false);
            }
        }

        return true;
    }

    /// <summary>Records that <paramref name="run"/>'s predictions object exists, so its state generations count without asking the store.</summary>
    public void Committed(string run)
    {
        if (_committedRuns.Count >= MaxCachedKeys)
        {
            _committedRuns.Clear();
        }

        _committedRuns.TryAdd(run, 0);
    }

    private async Task<bool> IsCommittedAsync(string run, CancellationToken cancellationToken)
    {
        if (_committedRuns.ContainsKey(run))
        {
            return true;
        }

        // The run is a predictions object key this store wrote (StreamKeys.Predictions), never a name from an event.
        if (await store.StatAsync(run, cancellationToken).ConfigureAwait(false) is null)
        {
            return false;
        }

        Committed(run);
        return true;
    }

    /// <summary>
    /// Drops a generation two behind the newest: the one just behind stays, for a retry of the newest's run. One left
    /// behind by a failed delete costs only storage: readers look forward from the newest and never back past its parent.
    /// </summary>
    private async Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            if (await store.StatAsync(key, cancellationToken).ConfigureAwait(false) is { } stored)
            {
                await store.DeleteAsync(stored, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (BatchStoreException)
        {
        }
    }

    private async Task<Head> HeadAsync(string folder, CancellationToken cancellationToken)
    {
        var head = _heads.TryGetValue(folder, out var cached) ? cached : await FindAsync(folder, cancellationToken).ConfigureAwait(false);
        while (await ReadAsync(folder, head.Generation + 1, cancellationToken).ConfigureAwait(false) is { } newer)
        {
            head = new Head(head.Generation + 1, newer);
        }

        Remember(folder, head);
        return head;
    }

    private async Task<Head> FindAsync(string folder, CancellationToken cancellationToken)
    {
        long last = 0;
        await foreach (var stored in store.ListAsync(folder, cancellationToken).ConfigureAwait(false))
        {
            last = Math.Max(last, StreamKeys.GenerationOf(folder, stored.Key) ?? 0);
        }

        return last == 0 ? new Head(0, null) : new Head(last, await ReadAsync(folder, last, cancellationToken).ConfigureAwait(false));
    }

    private async Task<StreamKeyDocument?> ReadAsync(string folder, long generation, CancellationToken cancellationToken)
    {
        var key = StreamKeys.Generation(folder, generation);
        if (await store.StatAsync(key, cancellationToken).ConfigureAwait(false) is not { } stored)
        {
            return null;
        }

        if (stored.Length > MaxDocumentBytes)
        {
            throw new BatchStoreException($"'{key}' is {stored.Length} bytes, more than a stream state holds");
        }

        await using var content = await store.OpenReadAsync(stored, cancellationToken).ConfigureAwait(false);
        try
        {
            return await JsonSerializer.DeserializeAsync(content, StreamJsonContext.Default.StreamKeyDocument, cancellationToken).ConfigureAwait(false)
                ?? throw new BatchStoreException($"'{key}' is empty");
        }
        catch (JsonException e)
        {
            throw new BatchStoreException($"'{key}' is not a stream state: {e.Message}", e);
        }
    }

    private void Remember(string folder, Head head)
    {
        if (_heads.Count >= MaxCachedKeys && !_heads.ContainsKey(folder))
        {
            _heads.Clear();
        }

        _heads[folder] = head;
    }

    /// <param name="Generation">0 when the key has no state yet.</param>
    private sealed record Head(long Generation, StreamKeyDocument? Document);
}

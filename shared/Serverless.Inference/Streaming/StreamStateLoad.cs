namespace Serverless.Inference.Streaming;

/// <summary>The state of a run's partition keys as loaded, with the generation each was read at, for the save that follows.</summary>
internal sealed record StreamStateLoad(StreamState State, IReadOnlyDictionary<string, StreamStateHead> Heads);

/// <param name="Generation">The generation read; 0 when the key had none.</param>
/// <param name="Ours">The head was written by this same run before (a retry): nothing to save for this key.</param>
internal sealed record StreamStateHead(string Folder, long Generation, bool Ours);

namespace Serverless.Inference.Batch;

/// <summary>What is being scored: the input's name and identity (content hash, ETag or version) and its format.</summary>
/// <param name="FirstLine">The line number of the stream's first record (a CSV's header): a shard counts from where it starts in the file.</param>
/// <param name="WriteHeader">Whether a CSV result starts with its header line; only a file's first shard writes it, so parts concatenate.</param>
public sealed record BatchJob(string Input, string InputIdentity, BatchFormat Format, long FirstLine = 1, bool WriteHeader = true);

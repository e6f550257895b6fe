namespace Serverless.Inference.Batch;

/// <summary>An object as a store saw it: reads and deletes given this record act on exactly this content.</summary>
/// <param name="Identity">The ETag on Blob Storage and S3; <c>sha256:</c> and the content hash in a local folder.</param>
public sealed record BatchObject(string Key, string Identity, long Length, DateTimeOffset LastModified);

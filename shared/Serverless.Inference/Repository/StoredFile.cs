namespace Serverless.Inference.Repository;

/// <param name="Identity">Changes whenever the content changes: a content hash or an ETag.</param>
public sealed record StoredFile(ModelFilePath Path, string Identity, long Length);

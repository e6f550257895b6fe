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

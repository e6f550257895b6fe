namespace Serverless.Inference.Repository;

/// <summary>
/// A model repository in the Triton-like layout, wherever it lives (a folder, a Blob container,
/// an S3 prefix): <c>&lt;name&gt;/model.json</c> and <c>&lt;name&gt;/&lt;version&gt;/model.onnx</c> plus assets.
/// Every path handed to a store is a <see cref="ModelFilePath"/>, so it has already been validated.
/// </summary>
public interface IModelStore
{
    /// <summary>A short description for logs, e.g. the folder or container URI; never sent to callers (see <see cref="InferenceException.Detail"/>).</summary>
    string Description { get; }

    /// <summary>The names of the model folders; throws <see cref="InferenceException"/> (Unavailable) if the store cannot be reached.</summary>
    Task<IReadOnlyList<string>> ListModelsAsync(CancellationToken cancellationToken);

    /// <summary>The version folders of one model that hold a <c>model.onnx</c>.</summary>
    Task<IReadOnlyList<string>> ListVersionsAsync(string model, CancellationToken cancellationToken);

    /// <summary>The identity (content hash or ETag) and size of a file, or null when it does not exist.</summary>
    Task<StoredFile?> StatAsync(ModelFilePath path, CancellationToken cancellationToken);

    Task<Stream> OpenReadAsync(ModelFilePath path, CancellationToken cancellationToken);
}

/// <summary>A store whose files are (some or all) already on the local disk, so those need no copy in the artifact cache.</summary>
internal interface ILocalModelStore : IModelStore
{
    /// <summary>The file's path on the local disk, or null when this file is not local (the artifact cache copies it then).</summary>
    string? FindLocalPath(ModelFilePath path);
}

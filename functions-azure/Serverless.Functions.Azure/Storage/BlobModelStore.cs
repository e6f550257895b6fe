using System.Collections.Concurrent;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Serverless.Inference;
using Serverless.Inference.Repository;

namespace Serverless.Functions.Azure.Storage;

/// <summary>
/// The model repository in a Blob container: <c>&lt;name&gt;/model.json</c> and <c>&lt;name&gt;/&lt;version&gt;/model.onnx</c>.
/// A file's identity is its ETag, so a replaced blob is a new identity and the model host reloads it after its
/// refresh interval. Downloads are pinned to the ETag last seen by <see cref="StatAsync"/>: a blob replaced between
/// the check and the download fails that load (the host keeps serving what it has) instead of caching new bytes
/// under the old identity.
/// </summary>
internal sealed class BlobModelStore : IModelStore
{
    private readonly ConcurrentDictionary<string, ETag> _seen = new(StringComparer.Ordinal);
    private readonly Lazy<BlobContainerClient> _container;

    public BlobModelStore(BlobContainerClient container)
        : this(() => container)
    {
    }

    /// <param name="connect">
    /// Called on first use. A connection that is not configured then answers every call with Unavailable (503 and
    /// the reason on readiness and requests) instead of failing the worker's start or every function's activation.
    /// </param>
    public BlobModelStore(Func<BlobContainerClient> connect)
    {
        _container = new Lazy<BlobContainerClient>(connect);
    }

    public string Description => _container.IsValueCreated ? _container.Value.Uri.ToString() : $"the '{AzureContract.ModelsContainer}' container";

    private BlobContainerClient Container
    {
        get
        {
            try
            {
                return _container.Value;
            }
            catch (InvalidOperationException e)
            {
                throw new InferenceException(InferenceErrorKind.Unavailable, e.Message, e);
            }
        }
    }

    public async Task<IReadOnlyList<string>> ListModelsAsync(CancellationToken cancellationToken)
    {
        var names = new List<string>();
        try
        {
            await foreach (var item in Container.GetBlobsByHierarchyAsync(new GetBlobsByHierarchyOptions { Delimiter = "/" }, cancellationToken).ConfigureAwait(false))
            {
                var name = item.IsPrefix ? item.Prefix.TrimEnd('/') : null;
                if (ModelNames.IsValid(name) && await StatAsync(ModelFilePath.Manifest(name), cancellationToken).ConfigureAwait(false) is not null)
                {
                    names.Add(name);
                }
            }
        }
        catch (RequestFailedException e) when (BlobErrors.IsContainerMissing(e))
        {
            throw new InferenceException(InferenceErrorKind.Unavailable, "the model container does not exist", e) { Detail = Description };
        }
        catch (RequestFailedException e)
        {
            throw BlobErrors.Unavailable("the model container cannot be listed", Description, e);
        }

        names.Sort(StringComparer.Ordinal);
        return names;
    }

    public async Task<IReadOnlyList<string>> ListVersionsAsync(string model, CancellationToken cancellationToken)
    {
        var prefix = ModelNames.Require(model, "model name") + "/";
        var versions = new List<string>();
        try
        {
            await foreach (var blob in Container.GetBlobsAsync(new GetBlobsOptions { Prefix = prefix }, cancellationToken).ConfigureAwait(false))
            {
                // Only <model>/<version>/model.onnx counts; deeper or odd names are ignored, never turned into paths.
                var segments = blob.Name[prefix.Length..].Split('/');
                if (segments is [var version, ModelFilePath.ModelFileName] && ModelNames.IsValid(version))
                {
                    versions.Add(version);
                }
            }
        }
        catch (RequestFailedException e) when (!BlobErrors.IsContainerMissing(e))
        {
            throw BlobErrors.Unavailable($"the versions of '{model}' cannot be listed", Description, e);
        }
        catch (RequestFailedException)
        {
            return [];
        }

        return versions;
    }

    public async Task<StoredFile?> StatAsync(ModelFilePath path, CancellationToken cancellationToken)
    {
        var name = path.ToString();
        try
        {
            var properties = (await Container.GetBlobClient(name).GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
            _seen[name] = properties.ETag;
            return new StoredFile(path, properties.ETag.ToString(), properties.ContentLength);
        }
        catch (RequestFailedException e) when (BlobErrors.IsBlobMissing(e))
        {
            if (path.FileName == ModelFilePath.ManifestFileName && await IsEmptyAsync(cancellationToken).ConfigureAwait(false))
            {
                throw new InferenceException(InferenceErrorKind.Unavailable, "the model container holds no models") { Detail = Description };
            }

            return null;
        }
        catch (RequestFailedException e) when (BlobErrors.IsContainerMissing(e))
        {
            throw new InferenceException(InferenceErrorKind.Unavailable, "the model container does not exist", e) { Detail = Description };
        }
        catch (RequestFailedException e)
        {
            throw BlobErrors.Unavailable($"{name} cannot be read", Description, e);
        }
    }

    public async Task<Stream> OpenReadAsync(ModelFilePath path, CancellationToken cancellationToken)
    {
        var name = path.ToString();
        var options = new BlobOpenReadOptions(allowModifications: false)
        {
            Conditions = _seen.TryGetValue(name, out var etag) ? new BlobRequestConditions { IfMatch = etag } : null,
        };
        try
        {
            return await Container.GetBlobClient(name).OpenReadAsync(options, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status == 412)
        {
            throw new InferenceException(InferenceErrorKind.Unavailable, $"{name} changed while it was being loaded; the next request loads the new content", e) { Detail = Description };
        }
        catch (RequestFailedException e)
        {
            throw BlobErrors.Unavailable($"{name} cannot be read", Description, e);
        }
    }

    /// <summary>Only asked after a manifest was not found, to tell "no such model" (404) from "no models at all" (503).</summary>
    private async Task<bool> IsEmptyAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var page in Container.GetBlobsByHierarchyAsync(new GetBlobsByHierarchyOptions { Delimiter = "/" }, cancellationToken).AsPages(pageSizeHint: 1).ConfigureAwait(false))
            {
                return page.Values.Count == 0;
            }

            return true;
        }
        catch (RequestFailedException e) when (BlobErrors.IsContainerMissing(e))
        {
            throw new InferenceException(InferenceErrorKind.Unavailable, "the model container does not exist", e) { Detail = Description };
        }
        catch (RequestFailedException e)
        {
            throw BlobErrors.Unavailable("the model container cannot be listed", Description, e);
        }
    }
}

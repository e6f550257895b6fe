using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Serverless.Functions.Azure.Storage;

namespace Serverless.Functions.Azure.Hosting;

/// <summary>The account behind the <see cref="AzureContract.StorageConnection"/> connection: models, batch files and the shard queues.</summary>
public sealed class InferenceStorage
{
    private readonly Lazy<QueueServiceClient> _queues;

    internal InferenceStorage(StorageConnection.Endpoints endpoints)
    {
        Service = endpoints.Blobs;
        CopySource = endpoints.CopySource;
        _queues = endpoints.Queues;
    }

    public BlobServiceClient Service { get; }

    public BlobContainerClient Models => Service.GetBlobContainerClient(AzureContract.ModelsContainer);

    /// <summary>The queue service of the same connection; resolved on first use (the settings may name no queue service).</summary>
    public QueueServiceClient Queues => _queues.Value;

    internal BlobCopySource CopySource { get; }
}

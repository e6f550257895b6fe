using Azure.Storage.Blobs;

namespace Serverless.Functions.Azure.Hosting;

/// <summary>The account behind the <see cref="AzureContract.StorageConnection"/> connection: models and batch files.</summary>
public sealed record InferenceStorage(BlobServiceClient Service)
{
    public BlobContainerClient Models => Service.GetBlobContainerClient(AzureContract.ModelsContainer);
}

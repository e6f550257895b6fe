using System.Text;
using Azure.Storage.Blobs;

namespace Serverless.Functions.Azure.Tests.Support;

public static class Blobs
{
    public static async Task<BlobClient> PutAsync(BlobServiceClient service, string key, string content) =>
        await PutAsync(service, key, Encoding.UTF8.GetBytes(content));

    public static async Task<BlobClient> PutAsync(BlobServiceClient service, string key, byte[] content)
    {
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        var container = service.GetBlobContainerClient(key[..slash]);
        await container.CreateIfNotExistsAsync();
        var blob = container.GetBlobClient(key[(slash + 1)..]);
        await blob.UploadAsync(new BinaryData(content), overwrite: true);
        return blob;
    }

    /// <summary>Every key in a container under a prefix, as <c>container/name</c>, sorted.</summary>
    public static async Task<List<string>> ListAsync(BlobServiceClient service, string container, string prefix = "")
    {
        var client = service.GetBlobContainerClient(container);
        var keys = new List<string>();
        if (!await client.ExistsAsync())
        {
            return keys;
        }

        await foreach (var item in client.GetBlobsAsync(new global::Azure.Storage.Blobs.Models.GetBlobsOptions { Prefix = prefix }))
        {
            keys.Add($"{container}/{item.Name}");
        }

        keys.Sort(StringComparer.Ordinal);
        return keys;
    }

    public static async Task<string> ReadTextAsync(BlobServiceClient service, string key)
    {
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        var content = await service.GetBlobContainerClient(key[..slash]).GetBlobClient(key[(slash + 1)..]).DownloadContentAsync();
        return content.Value.Content.ToString();
    }
}

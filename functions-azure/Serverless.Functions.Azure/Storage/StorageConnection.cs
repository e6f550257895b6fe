using Azure.Core;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Azure;
using Microsoft.Extensions.Configuration;

namespace Serverless.Functions.Azure.Storage;

/// <summary>
/// Resolves a named connection the way the Functions storage extensions do, so the trigger and this app's own
/// clients read one setting: a connection string in <c>&lt;Name&gt;</c> (Azurite: <c>UseDevelopmentStorage=true</c>),
/// or <c>&lt;Name&gt;__serviceUri</c> / <c>__blobServiceUri</c> with <c>__credential=managedidentity</c> and
/// <c>__clientId</c> for a user-assigned identity.
/// </summary>
internal static class StorageConnection
{
    /// <summary>Pinned so Azurite accepts the requests (its newest supported version) and Azure serves the same API.</summary>
    public static BlobClientOptions ClientOptions() => new(BlobClientOptions.ServiceVersion.V2026_06_06);

    public static BlobServiceClient CreateBlobServiceClient(IConfiguration configuration, AzureComponentFactory components, string name)
    {
        var section = configuration.GetSection("AzureWebJobs" + name) is { } prefixed && prefixed.Exists()
            ? prefixed
            : configuration.GetSection(name);
        if (!string.IsNullOrWhiteSpace(section.Value))
        {
            return new BlobServiceClient(section.Value, ClientOptions());
        }

        var serviceUri = section["blobServiceUri"] ?? section["serviceUri"];
        if (string.IsNullOrWhiteSpace(serviceUri))
        {
            var accountName = section["accountName"];
            serviceUri = string.IsNullOrWhiteSpace(accountName) ? null : $"https://{accountName}.blob.core.windows.net";
        }

        if (serviceUri is null || !Uri.TryCreate(serviceUri, UriKind.Absolute, out var uri))
        {
            throw new InvalidOperationException(
                $"The storage connection '{name}' is not configured: set '{name}' to a connection string, or '{name}__serviceUri' (with '{name}__credential=managedidentity').");
        }

        TokenCredential credential = components.CreateTokenCredential(section);
        return new BlobServiceClient(uri, credential, ClientOptions());
    }
}

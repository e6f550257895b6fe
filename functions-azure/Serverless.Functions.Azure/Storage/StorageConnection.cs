using Azure.Core;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Microsoft.Extensions.Azure;
using Microsoft.Extensions.Configuration;

namespace Serverless.Functions.Azure.Storage;

/// <summary>
/// Resolves a named connection the way the Functions storage extensions do, so the triggers and this app's own
/// clients read one setting: a connection string in <c>&lt;Name&gt;</c> (Azurite: <c>UseDevelopmentStorage=true</c>),
/// or <c>&lt;Name&gt;__blobServiceUri</c> (the app's client also takes <c>__serviceUri</c>) and
/// <c>&lt;Name&gt;__queueServiceUri</c> with <c>__credential=managedidentity</c> and <c>__clientId</c> for a
/// user-assigned identity.
/// </summary>
internal static class StorageConnection
{
    /// <summary>Pinned so Azurite accepts the requests (its newest supported version) and Azure serves the same API.</summary>
    public static BlobClientOptions ClientOptions() => new(BlobClientOptions.ServiceVersion.V2026_06_06);

    /// <summary>
    /// Base64 bodies: what the queue trigger decodes by default (host.json <c>extensions.queues.messageEncoding</c>),
    /// and the encoding the host itself uses when it moves a message to the poison queue.
    /// </summary>
    public static QueueClientOptions QueueOptions() => new(QueueClientOptions.ServiceVersion.V2026_06_06) { MessageEncoding = QueueMessageEncoding.Base64 };

    public static BlobServiceClient CreateBlobServiceClient(IConfiguration configuration, AzureComponentFactory components, string name) =>
        Resolve(configuration, components, name).Blobs;

    /// <summary>The blob and queue clients of one connection, and how server-side copies authorise their sources.</summary>
    /// <remarks>The queue client is made on first use: a deployment without queues still serves HTTP and small files.</remarks>
    public static Endpoints Resolve(IConfiguration configuration, AzureComponentFactory components, string name)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(components);
        var section = Section(configuration, name);
        if (!string.IsNullOrWhiteSpace(section.Value))
        {
            var connectionString = section.Value;
            var blobs = new BlobServiceClient(connectionString, ClientOptions());
            return new Endpoints(
                blobs,
                blobs.CanGenerateAccountSasUri ? BlobCopySource.SharedKey() : BlobCopySource.None,
                new Lazy<QueueServiceClient>(() => new QueueServiceClient(connectionString, QueueOptions())));
        }

        var blobUri = Address(section, name, "blob", section["blobServiceUri"] ?? section["serviceUri"]);
        TokenCredential credential = components.CreateTokenCredential(section);
        return new Endpoints(
            new BlobServiceClient(blobUri, credential, ClientOptions()),
            BlobCopySource.OAuth(credential),
            new Lazy<QueueServiceClient>(() => new QueueServiceClient(Address(section, name, "queue", section["queueServiceUri"]), credential, QueueOptions())));
    }

    /// <summary>Whether the settings name a blob service for the connection (what <see cref="Resolve"/> needs).</summary>
    public static bool IsConfigured(IConfiguration configuration, string name)
    {
        var section = Section(configuration, name);
        return !string.IsNullOrWhiteSpace(section.Value)
            || !string.IsNullOrWhiteSpace(section["blobServiceUri"] ?? section["serviceUri"] ?? section["accountName"]);
    }

    private static IConfigurationSection Section(IConfiguration configuration, string name) =>
        configuration.GetSection("AzureWebJobs" + name) is { } prefixed && prefixed.Exists()
            ? prefixed
            : configuration.GetSection(name);

    /// <summary>The service URI in its setting, or the public endpoint of <c>__accountName</c>.</summary>
    private static Uri Address(IConfigurationSection section, string name, string service, string? serviceUri)
    {
        if (string.IsNullOrWhiteSpace(serviceUri))
        {
            var accountName = section["accountName"];
            serviceUri = string.IsNullOrWhiteSpace(accountName) ? null : $"https://{accountName}.{service}.core.windows.net";
        }

        return serviceUri is not null && Uri.TryCreate(serviceUri, UriKind.Absolute, out var uri)
            ? uri
            : throw new InvalidOperationException(service == "blob"
                ? $"The storage connection '{name}' is not configured: set '{name}' to a connection string, or '{name}__serviceUri' (with '{name}__credential=managedidentity')."
                : $"The storage connection '{name}' has no queue service: set '{name}' to a connection string, or '{name}__queueServiceUri' (with '{name}__credential=managedidentity').");
    }

    internal sealed record Endpoints(BlobServiceClient Blobs, BlobCopySource CopySource, Lazy<QueueServiceClient> Queues);
}

using System.Runtime.CompilerServices;
using Azure.Identity;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace Serverless.Infer.Cli.Monitor;

/// <summary>
/// The blobs under a Blob Storage prefix: <c>https://&lt;account&gt;.blob.core.windows.net/capture/iris/1/...</c>
/// (DefaultAzureCredential), or the emulator's path-style <c>http://127.0.0.1:10000/devstoreaccount1/capture/...</c>.
/// AZURE_STORAGE_CONNECTION_STRING, when set, gives the account and key instead; the URL still names container and prefix.
/// </summary>
internal sealed class BlobSource(BlobContainerClient container, string prefix) : ICaptureSource
{
    public static BlobSource FromUrl(Uri url)
    {
        var segments = url.AbsolutePath.Trim('/').Split('/');
        // Azure names the account in the host; Azurite and other emulators in the first path segment.
        var pathStyle = !url.Host.EndsWith(".blob.core.windows.net", StringComparison.OrdinalIgnoreCase);
        var skip = pathStyle ? 1 : 0;
        if (segments.Length <= skip || segments[skip].Length == 0)
        {
            throw new MonitorException(MonitorExitCodes.Unreadable, $"{url} names no container: use https://<account>.blob.core.windows.net/<container>/<prefix>");
        }

        var containerName = segments[skip];
        var prefix = Uri.UnescapeDataString(string.Join('/', segments[(skip + 1)..]));
        if (url.AbsolutePath.EndsWith('/') && prefix.Length > 0)
        {
            prefix += "/";
        }

        // The emulator rejects the newest service version this SDK sends by default.
        var options = pathStyle ? new BlobClientOptions(BlobClientOptions.ServiceVersion.V2026_06_06) : new BlobClientOptions();
        var container = Environment.GetEnvironmentVariable("AZURE_STORAGE_CONNECTION_STRING") is { Length: > 0 } connection
            ? new BlobServiceClient(connection, options).GetBlobContainerClient(containerName)
            : new BlobContainerClient(new Uri($"{url.GetLeftPart(UriPartial.Authority)}/{string.Join('/', segments[..(skip + 1)])}"), new DefaultAzureCredential(), options);
        return new BlobSource(container, prefix);
    }

    public async IAsyncEnumerable<CaptureObject> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var blob in container.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix, cancellationToken))
        {
            if (CaptureObject.IsReadable(blob.Name))
            {
                var client = container.GetBlobClient(blob.Name);
                yield return new CaptureObject(blob.Name, token => client.OpenReadAsync(cancellationToken: token));
            }
        }
    }
}

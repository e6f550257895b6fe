using Azure;
using Azure.Core;
using Azure.Storage.Blobs.Specialized;
using Azure.Storage.Sas;

namespace Serverless.Functions.Azure.Storage;

/// <summary>
/// How a server-side copy (Put Block From URL) proves it may read its source blob. The service reads the source with
/// the source's own authorisation, not the caller's: with the app's managed identity that is an OAuth token for
/// Storage sent beside the request (<c>x-ms-copy-source-authorization: Bearer ...</c>; the identity needs read on the
/// source container); with an account key (a connection string, Azurite) a short read-only service SAS on the source
/// URL. A client that holds neither (a connection string with a SAS of its own) cannot copy server-side:
/// <see cref="CanCopy"/> is false and the caller streams the bytes itself.
/// </summary>
internal sealed class BlobCopySource
{
    /// <summary>The token audience of Azure Storage.</summary>
    public const string StorageScope = "https://storage.azure.com/.default";

    /// <summary>Long enough for the largest copy to be read; the service checks it when it reads the source.</summary>
    private static readonly TimeSpan SasLifetime = TimeSpan.FromHours(1);

    private readonly TokenCredential? _credential;
    private readonly TimeProvider _time;

    private BlobCopySource(TokenCredential? credential, bool sharedKey, TimeProvider time)
    {
        _credential = credential;
        _time = time;
        CanCopy = credential is not null || sharedKey;
    }

    public bool CanCopy { get; }

    public string Kind => _credential is not null ? "oauth" : CanCopy ? "sas" : "none";

    /// <summary>The client authenticates with a token (managed identity): the source is read with a token of the same credential.</summary>
    public static BlobCopySource OAuth(TokenCredential credential, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(credential);
        return new BlobCopySource(credential, sharedKey: false, time ?? TimeProvider.System);
    }

    /// <summary>The client signs with the account key: each source gets a read-only service SAS.</summary>
    public static BlobCopySource SharedKey(TimeProvider? time = null) => new(null, sharedKey: true, time ?? TimeProvider.System);

    /// <summary>Neither: no server-side copies.</summary>
    public static BlobCopySource None { get; } = new(null, sharedKey: false, TimeProvider.System);

    /// <summary>One authorisation for a whole compose: the token is fetched once (the credential caches it) and serves every block.</summary>
    public async Task<Authorizer> AuthorizeAsync(CancellationToken cancellationToken)
    {
        if (_credential is null)
        {
            return CanCopy ? new Authorizer(null, _time) : throw new InvalidOperationException("This storage client can sign no copy source.");
        }

        var token = await _credential.GetTokenAsync(new TokenRequestContext([StorageScope]), cancellationToken).ConfigureAwait(false);
        return new Authorizer(new HttpAuthorization("Bearer", token.Token), _time);
    }

    internal sealed class Authorizer(HttpAuthorization? bearer, TimeProvider time)
    {
        /// <summary>The source URL to send and the authorisation to send beside it.</summary>
        public (Uri Source, HttpAuthorization? Authorization) For(BlobBaseClient source)
        {
            ArgumentNullException.ThrowIfNull(source);
            if (bearer is not null)
            {
                return (source.Uri, bearer);
            }

            // Read only, this blob only, and only for the copy.
            return (source.GenerateSasUri(BlobSasPermissions.Read, time.GetUtcNow() + SasLifetime), null);
        }
    }
}

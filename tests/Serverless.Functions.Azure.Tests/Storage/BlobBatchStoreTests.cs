using Azure.Storage.Blobs;
using Serverless.Batch.Contract;
using Serverless.Functions.Azure.Storage;
using Serverless.Inference;
using Serverless.Inference.Batch;

namespace Serverless.Functions.Azure.Tests.Storage;

/// <summary>The batch store contract against a real Azurite.</summary>
public sealed class BlobBatchStoreContractTests(Azurite azurite) : BatchStoreContract, IClassFixture<Azurite>
{
    protected override IBatchStore Store { get; } = new BlobBatchStore(azurite.CreateClient());

    /// <summary>An account on a port nobody listens on, without retries: every call fails at once.</summary>
    protected override IBatchStore BrokenStore { get; } = new BlobBatchStore(Unreachable());

    protected override Task PutBehindAsync(string key, byte[] content) => Blobs.PutAsync(azurite.CreateClient(), key, content);

    protected override Task DeleteBehindAsync(string key)
    {
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        return azurite.CreateClient().GetBlobContainerClient(key[..slash]).GetBlobClient(key[(slash + 1)..]).DeleteAsync();
    }

    internal static BlobServiceClient Unreachable()
    {
        var options = new BlobClientOptions();
        options.Retry.MaxRetries = 0;
        return new BlobServiceClient(
            new Uri("http://127.0.0.1:9/devstoreaccount1"),
            new global::Azure.Storage.StorageSharedKeyCredential("devstoreaccount1", Convert.ToBase64String(new byte[64])),
            options);
    }
}

/// <summary>The sweep over a fresh Azurite of its own.</summary>
public sealed class BlobIncomingSweepTests(Azurite azurite) : IncomingSweepContract, IClassFixture<Azurite>
{
    protected override IBatchStore Store { get; } = new BlobBatchStore(azurite.CreateClient());

    protected override Task PutBehindAsync(string key, byte[] content) => Blobs.PutAsync(azurite.CreateClient(), key, content);
}

/// <summary>Big files fanned out, scored shard by shard and merged on the service (Put Block From URL), against Azurite.</summary>
public sealed class BlobShardingTests(Azurite azurite) : ShardingContract, IClassFixture<Azurite>
{
    protected override IBatchStore Store { get; } = new BlobBatchStore(azurite.CreateClient());

    protected override Task PutBehindAsync(string key, byte[] content) => Blobs.PutAsync(azurite.CreateClient(), key, content);
}

/// <summary>What only the Blob store does: the containers it may touch.</summary>
public sealed class BlobBatchStoreTests(Azurite azurite) : IClassFixture<Azurite>
{
    [Theory]
    [InlineData("models/iris/model.json")]
    [InlineData("attachments/cat.png")]
    [InlineData("deadletter/x")]
    [InlineData("outgoing")]
    public async Task EveryCall_OutsideTheBatchContainers_RefusedAsAKeyTheStoreCannotUse(string key)
    {
        await Blobs.PutAsync(azurite.CreateClient(), "models/iris/model.json", "{}");
        var store = new BlobBatchStore(azurite.CreateClient());

        var write = await Assert.ThrowsAsync<BatchStoreException>(() => store.WriteAsync(key, "x"u8.ToArray(), CancellationToken.None));
        var stat = await Assert.ThrowsAsync<BatchStoreException>(() => store.StatAsync(key, CancellationToken.None));

        Assert.True(write.KeyRefused && stat.KeyRefused);
    }

    [Fact]
    public async Task Attachments_OnlyFromTheIncomingContainer_OthersARowErrorNamingTheRule()
    {
        await Blobs.PutAsync(azurite.CreateClient(), "images/cat.png", "elsewhere");
        await Blobs.PutAsync(azurite.CreateClient(), "incoming/_attachments/cat.png", "allowed");
        var attachments = new StoreAttachments(new BlobBatchStore(azurite.CreateClient()), 1024);

        var refused = await Assert.ThrowsAsync<InferenceException>(() => attachments.ReadAsync("images/cat.png", CancellationToken.None));

        Assert.Equal(InferenceErrorKind.BadRequest, refused.Kind);
        Assert.Equal("'images/cat.png' cannot be read: 'images' is not a container this app may use: only incoming, outgoing, failed, predictions, stream-state, stream-events, capture", refused.Message);
        Assert.Equal("allowed"u8.ToArray(), await attachments.ReadAsync("incoming/_attachments/cat.png", CancellationToken.None));
    }

    [Fact]
    public async Task Failure_UnreachableAccount_MessageKeepsTheAccountAddressOut()
    {
        var store = new BlobBatchStore(BlobBatchStoreContractTests.Unreachable());

        var failure = await Assert.ThrowsAsync<BatchStoreException>(() => store.StatAsync("incoming/iris/a.csv", CancellationToken.None));

        Assert.DoesNotContain("127.0.0.1", failure.Message, StringComparison.Ordinal);
        Assert.Contains("127.0.0.1:9", failure.Detail, StringComparison.Ordinal);
    }
}

using System.Text;
using Serverless.Functions.Azure.Storage;
using Serverless.Inference;

namespace Serverless.Functions.Azure.Tests.Storage;

/// <summary>The batch store's own guarantees, against a real Azurite.</summary>
public sealed class BlobBatchStoreTests(Azurite azurite) : IClassFixture<Azurite>
{
    [Fact]
    public async Task CreateAsync_KeyTaken_FalseAndContentKept()
    {
        var store = new BlobBatchStore(azurite.CreateClient());

        var first = await store.CreateAsync("outgoing/iris/once.csv", new MemoryStream("first"u8.ToArray()), CancellationToken.None);
        var second = await store.CreateAsync("outgoing/iris/once.csv", new MemoryStream("second"u8.ToArray()), CancellationToken.None);

        Assert.True(first);
        Assert.False(second);
        Assert.Equal("first", await Blobs.ReadTextAsync(azurite.CreateClient(), "outgoing/iris/once.csv"));
    }

    [Fact]
    public async Task StatAsync_IdentityIsTheETag_NullWhenMissing()
    {
        var blob = await Blobs.PutAsync(azurite.CreateClient(), "incoming/iris/stat.csv", "a,b\n");
        var store = new BlobBatchStore(azurite.CreateClient());

        var stat = await store.StatAsync("incoming/iris/stat.csv", CancellationToken.None);

        Assert.Equal((blob.GetProperties().Value.ETag.ToString(), 4L), (stat!.Identity, stat.Length));
        Assert.Null(await store.StatAsync("incoming/iris/none.csv", CancellationToken.None));
        Assert.Null(await store.StatAsync("nocontainer/iris/none.csv", CancellationToken.None));
    }

    [Fact]
    public async Task OpenReadAsync_BlobReplacedAfterStat_RefusedRatherThanReadingOtherBytes()
    {
        var storage = azurite.CreateClient();
        await Blobs.PutAsync(storage, "incoming/iris/changing.csv", "old\n");
        var store = new BlobBatchStore(storage);
        await store.StatAsync("incoming/iris/changing.csv", CancellationToken.None);

        await Blobs.PutAsync(storage, "incoming/iris/changing.csv", "new content\n");

        await Assert.ThrowsAsync<IOException>(() => store.OpenReadAsync("incoming/iris/changing.csv", CancellationToken.None));
        var fresh = new BlobBatchStore(storage);
        await fresh.StatAsync("incoming/iris/changing.csv", CancellationToken.None);
        await using var stream = await fresh.OpenReadAsync("incoming/iris/changing.csv", CancellationToken.None);
        Assert.Equal("new content\n", await new StreamReader(stream, Encoding.UTF8).ReadToEndAsync());
    }

    [Theory]
    [InlineData("models/iris/model.json")]
    [InlineData("attachments/cat.png")]
    [InlineData("outgoing/../models/x")]
    [InlineData("outgoing")]
    public async Task WriteAsync_OutsideTheBatchContainersOrBadKey_Refused(string key)
    {
        var store = new BlobBatchStore(azurite.CreateClient());

        var error = await Assert.ThrowsAsync<InferenceException>(() => store.WriteAsync(key, "x"u8.ToArray(), CancellationToken.None));

        Assert.Equal(InferenceErrorKind.BadRequest, error.Kind);
    }

    [Fact]
    public async Task OpenReadAsync_AttachmentInAnotherContainer_Read()
    {
        await Blobs.PutAsync(azurite.CreateClient(), "attachments/photos/cat.png", "not really a png");
        var store = new BlobBatchStore(azurite.CreateClient());

        await using var stream = await store.OpenReadAsync("attachments/photos/cat.png", CancellationToken.None);

        Assert.Equal("not really a png", await new StreamReader(stream, Encoding.UTF8).ReadToEndAsync());
        await Assert.ThrowsAsync<InferenceException>(() => store.OpenReadAsync("Bad_Container/cat.png", CancellationToken.None));
    }
}

using Serverless.Functions.Aws.Storage;

namespace Serverless.Functions.Aws.Tests.Storage;

public sealed class S3BatchStoreTests(MotoServer moto) : IClassFixture<MotoServer>
{
    [Fact]
    public async Task CreateAsync_KeyTaken_ReturnsFalseAndKeepsTheFirst()
    {
        await using var function = await MotoFunction.CreateAsync(moto, uploadModel: false);
        var store = new S3BatchStore(function.S3, function.Bucket);

        using var first = new MemoryStream("first"u8.ToArray());
        using var second = new MemoryStream("second"u8.ToArray());
        var created = await store.CreateAsync("outgoing/m/a.csv", first, CancellationToken.None);
        var again = await store.CreateAsync("outgoing/m/a.csv", second, CancellationToken.None);

        Assert.Equal((true, false), (created, again));
        Assert.Equal("first", await function.ReadAsync("outgoing/m/a.csv"));
    }

    [Fact]
    public async Task MoveAsync_DestinationTaken_CopiesUnderAUniqueKeyAndDeletesTheSource()
    {
        await using var function = await MotoFunction.CreateAsync(moto, uploadModel: false);
        await function.PutAsync("incoming/m/a.csv", "new");
        await function.PutAsync("failed/m/a.csv", "old");
        var store = new S3BatchStore(function.S3, function.Bucket);

        var moved = await store.MoveAsync("incoming/m/a.csv", "failed/m/a.csv", CancellationToken.None);

        Assert.StartsWith("failed/m/a.csv.", moved, StringComparison.Ordinal);
        Assert.Equal("old", await function.ReadAsync("failed/m/a.csv"));
        Assert.Equal("new", await function.ReadAsync(moved));
        Assert.Empty(await function.KeysAsync("incoming/"));
    }

    [Fact]
    public async Task StatAsync_Object_IdentityIsTheUnquotedETag()
    {
        await using var function = await MotoFunction.CreateAsync(moto, uploadModel: false);
        await function.PutAsync("incoming/m/a.csv", "x,y\n");
        var store = new S3BatchStore(function.S3, function.Bucket);

        var stat = await store.StatAsync("incoming/m/a.csv", CancellationToken.None);
        var missing = await store.StatAsync("incoming/m/none.csv", CancellationToken.None);

        Assert.NotNull(stat);
        // The MD5 of the content: S3's ETag for a single-part upload.
#pragma warning disable CA5351 // Not security: it is how S3 computes the ETag.
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData("x,y\n"u8)), stat.Identity);
#pragma warning restore CA5351
        Assert.Equal(4, stat.Length);
        Assert.Null(missing);
    }
}

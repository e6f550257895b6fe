using System.Text;
using Serverless.Inference.Batch;
using Serverless.Inference.Tests.Batch.Support;

namespace Serverless.Inference.Tests.Batch;

/// <summary>What only the local folder does; the contract every store keeps is in <see cref="LocalFolderBatchStoreContractTests"/>.</summary>
public sealed class LocalFolderBatchStoreTests : IDisposable
{
    private readonly TempDropFolder _drop = new();

    public void Dispose() => _drop.Dispose();

    [Fact]
    public async Task StatAsync_File_IdentityIsTheContentHash()
    {
        var key = _drop.Put("incoming/m/a.csv", "one");

        var stat = await _drop.Store.StatAsync(key, CancellationToken.None);

        Assert.Equal((TempDropFolder.Identity("one"u8.ToArray()), 3L), (stat!.Identity, stat.Length));
        Assert.Equal(File.GetLastWriteTimeUtc(_drop.PathOf(key)), stat.LastModified.UtcDateTime);
    }

    [Fact]
    public async Task OpenReadAsync_ReplacedInPlaceKeepingSizeAndTime_WholeReadRefusesAtTheEnd()
    {
        var key = _drop.Put("incoming/m/a.csv", "original\n");
        var written = File.GetLastWriteTimeUtc(_drop.PathOf(key));
        var stat = await _drop.Store.StatAsync(key, CancellationToken.None);
        _drop.Put(key, "replaced\n");
        File.SetLastWriteTimeUtc(_drop.PathOf(key), written);

        await using var stream = await _drop.Store.OpenReadAsync(stat!, CancellationToken.None);
        using var reader = new StreamReader(stream);

        await Assert.ThrowsAsync<BatchObjectChangedException>(() => reader.ReadToEndAsync());
    }

    [Fact]
    public async Task CreateAsync_KeyTaken_NoTemporaryFileRemains()
    {
        Assert.True(await Create("outgoing/m/r.csv", "first"));
        Assert.False(await Create("outgoing/m/r.csv", "second"));

        Assert.Equal(["outgoing/m/r.csv"], _drop.Files());
    }

    [Fact]
    public async Task CreateAsync_FileNameOf255Bytes_Published()
    {
        var key = "outgoing/m/" + new string('r', 251) + ".csv";

        Assert.True(await Create(key, "long name"));

        Assert.Equal([key], _drop.Files());
    }

    [Theory]
    [InlineData("")]
    [InlineData("../x.csv")]
    [InlineData("incoming/../../x.csv")]
    [InlineData("incoming//a.csv")]
    [InlineData("/etc/passwd")]
    [InlineData("incoming\\m\\a.csv")]
    [InlineData("incoming/m/a.csv/")]
    [InlineData("incoming/m/a\tb.csv")]
    public async Task EveryOperation_KeyBreakingTheKeyRule_RefusedWithoutTouchingTheFileSystem(string key)
    {
        _drop.Put("incoming/m/a.csv", "content");
        var before = _drop.Snapshot();
        var pinned = new BatchObject(key, "sha256:00", 7, DateTimeOffset.UtcNow);

        await AssertRefused(() => _drop.Store.StatAsync(key, CancellationToken.None));
        await AssertRefused(() => _drop.Store.OpenReadAsync(pinned, CancellationToken.None));
        await AssertRefused(() => Create(key, "x"));
        await AssertRefused(() => _drop.Store.WriteAsync(key, "x"u8.ToArray(), CancellationToken.None));
        await AssertRefused(() => _drop.Store.DeleteAsync(pinned, CancellationToken.None));

        Assert.Equal(before, _drop.Snapshot());
    }

    [Fact]
    public async Task ListAsync_TemporaryFilesOfAPublishInFlight_NotListed()
    {
        _drop.Put("outgoing/m/r.csv", "r");
        _drop.Put($"outgoing/m/.{Guid.NewGuid():N}.part", "half written");

        var listed = new List<string>();
        await foreach (var item in _drop.Store.ListAsync("outgoing/", CancellationToken.None))
        {
            listed.Add(item.Key);
        }

        Assert.Equal(["outgoing/m/r.csv"], listed);
    }

    [Fact]
    public void ListIncoming_Files_OldestFirstWithoutHiddenFilesOrOtherFolders()
    {
        var now = DateTime.UtcNow;
        _drop.Put("incoming/m/new.csv", "n");
        _drop.Put("incoming/m/1/old.jsonl", "o");
        _drop.Put("incoming/m/.new.csv.123.part", "p");
        _drop.Put("outgoing/m/new.csv.r.results.csv", "r");
        File.SetLastWriteTimeUtc(_drop.PathOf("incoming/m/new.csv"), now);
        File.SetLastWriteTimeUtc(_drop.PathOf("incoming/m/1/old.jsonl"), now.AddMinutes(-5));

        Assert.Equal(["incoming/m/1/old.jsonl", "incoming/m/new.csv"], _drop.Store.ListIncoming());
    }

    [Fact]
    public void ListIncoming_NoIncomingFolder_Empty() => Assert.Empty(_drop.Store.ListIncoming());

    private async Task<bool> Create(string key, string content)
    {
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(content));
        return await _drop.Store.CreateAsync(key, stream, CancellationToken.None);
    }

    private static async Task AssertRefused(Func<Task> operation)
    {
        var e = await Assert.ThrowsAsync<BatchStoreException>(operation);
        Assert.True(e.KeyRefused);
        Assert.Contains("is not a key a drop folder can hold", e.Message, StringComparison.Ordinal);
    }
}

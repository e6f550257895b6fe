using System.Text;
using Serverless.Inference.Batch;
using Serverless.Inference.Tests.Batch.Support;

namespace Serverless.Inference.Tests.Batch;

public sealed class LocalFolderBatchStoreTests : IDisposable
{
    private readonly TempDropFolder _drop = new();

    public void Dispose() => _drop.Dispose();

    [Fact]
    public async Task StatAsync_File_IdentityIsTheContentHashAndFollowsChanges()
    {
        var key = _drop.Put("incoming/m/a.csv", "one");

        var first = await _drop.Store.StatAsync(key, CancellationToken.None);
        _drop.Put(key, "three");
        var second = await _drop.Store.StatAsync(key, CancellationToken.None);

        Assert.Equal(new BatchObject(key, TempDropFolder.Identity("one"u8.ToArray()), 3), first);
        Assert.Equal(new BatchObject(key, TempDropFolder.Identity("three"u8.ToArray()), 5), second);
        Assert.Null(await _drop.Store.StatAsync("incoming/m/missing.csv", CancellationToken.None));
    }

    [Fact]
    public async Task CreateAsync_NewKey_CreatesFoldersAndTheFile()
    {
        Assert.True(await Create("outgoing/m/1/r.csv", "result"));

        Assert.Equal("result", _drop.ReadText("outgoing/m/1/r.csv"));
        Assert.Equal(["outgoing/m/1/r.csv"], _drop.Files());
    }

    [Fact]
    public async Task CreateAsync_ExistingKey_ReturnsFalseAndKeepsTheFirstContent()
    {
        Assert.True(await Create("outgoing/m/r.csv", "first"));

        Assert.False(await Create("outgoing/m/r.csv", "second"));
        Assert.Equal("first", _drop.ReadText("outgoing/m/r.csv"));
        Assert.Equal(["outgoing/m/r.csv"], _drop.Files());
    }

    [Fact]
    public async Task CreateAsync_EightRacingCreates_ExactlyOneWinsAndNoTemporaryFileRemains()
    {
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var racers = Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
        {
            await go.Task;
            return (Won: await Create("outgoing/m/race.csv", $"racer {i}"), Racer: i);
        })).ToArray();
        go.SetResult();

        var results = await Task.WhenAll(racers);

        var winner = Assert.Single(results, r => r.Won);
        Assert.Equal($"racer {winner.Racer}", _drop.ReadText("outgoing/m/race.csv"));
        Assert.Equal(["outgoing/m/race.csv"], _drop.Files());
    }

    [Fact]
    public async Task WriteAsync_ExistingKey_ReplacesItWithoutLeavingTemporaryFiles()
    {
        await _drop.Store.WriteAsync("failed/m/a.csv.x.attempts", "1"u8.ToArray(), CancellationToken.None);
        await _drop.Store.WriteAsync("failed/m/a.csv.x.attempts", "2"u8.ToArray(), CancellationToken.None);

        Assert.Equal("2", _drop.ReadText("failed/m/a.csv.x.attempts"));
        Assert.Equal(["failed/m/a.csv.x.attempts"], _drop.Files());
    }

    [Fact]
    public async Task MoveAsync_FreeTarget_CopiesThenRemovesTheSource()
    {
        var key = _drop.Put("incoming/m/a.csv", "content");

        await _drop.Store.MoveAsync(key, "failed/m/a.csv", CancellationToken.None);

        Assert.Equal(["failed/m/a.csv"], _drop.Files());
        Assert.Equal("content", _drop.ReadText("failed/m/a.csv"));
    }

    [Fact]
    public async Task MoveAsync_TakenTarget_KeepsBothUnderAnotherName()
    {
        var key = _drop.Put("incoming/m/a.csv", "second");
        _drop.Put("failed/m/a.csv", "first");

        var moved = await _drop.Store.MoveAsync(key, "failed/m/a.csv", CancellationToken.None);

        var files = _drop.Files();
        Assert.Equal(2, files.Count);
        Assert.Equal(moved, Assert.Single(files, f => f != "failed/m/a.csv"));
        Assert.Equal("first", _drop.ReadText("failed/m/a.csv"));
        var other = Assert.Single(files, f => f != "failed/m/a.csv");
        Assert.StartsWith("failed/m/a.csv.", other, StringComparison.Ordinal);
        Assert.Equal("second", _drop.ReadText(other));
    }

    [Theory]
    [InlineData("")]
    [InlineData("../x.csv")]
    [InlineData("incoming/../../x.csv")]
    [InlineData("incoming/m/a b.csv")]
    [InlineData("incoming//a.csv")]
    [InlineData("/etc/passwd")]
    [InlineData("incoming\\m\\a.csv")]
    public async Task EveryOperation_KeyBreakingTheNameRule_IsRefusedWithoutTouchingTheFileSystem(string key)
    {
        _drop.Put("incoming/m/a.csv", "content");
        var before = _drop.Snapshot();

        await AssertRefused(() => _drop.Store.StatAsync(key, CancellationToken.None));
        await AssertRefused(() => _drop.Store.OpenReadAsync(key, CancellationToken.None));
        await AssertRefused(() => Create(key, "x"));
        await AssertRefused(() => _drop.Store.WriteAsync(key, "x"u8.ToArray(), CancellationToken.None));
        await AssertRefused(() => _drop.Store.MoveAsync("incoming/m/a.csv", key, CancellationToken.None));
        await AssertRefused(() => _drop.Store.MoveAsync(key, "failed/m/a.csv", CancellationToken.None));

        Assert.Equal(before, _drop.Snapshot());
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
        var e = await Assert.ThrowsAsync<InferenceException>(operation);
        Assert.Equal(InferenceErrorKind.BadRequest, e.Kind);
        Assert.EndsWith("is not a valid batch key", e.Message, StringComparison.Ordinal);
    }
}

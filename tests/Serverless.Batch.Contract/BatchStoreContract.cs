using System.Text;
using Microsoft.Extensions.Time.Testing;
using Serverless.Inference.Batch;
using Serverless.Inference.Hosting;
using Serverless.Inference.Repository;

namespace Serverless.Batch.Contract;

/// <summary>
/// What every batch store promises, run against the local folder, Azurite and moto by a subclass in each test
/// project: pinned and ranged reads, create-only writes, conditional deletes, listing, the keys people really use, one
/// exception family; and the runner's policy over each store (moves that never lose a file, counted attempts, refused
/// names set aside). Each test works in its own folder, so stores shared between tests stay apart.
/// </summary>
public abstract class BatchStoreContract : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("contract-work-").FullName;
    private ModelHost? _host;

    /// <summary>A folder name of this test alone.</summary>
    protected string F { get; } = "t" + Guid.NewGuid().ToString("N")[..10];

    protected abstract IBatchStore Store { get; }

    /// <summary>The same kind of store, pointed at nothing that answers: every call fails.</summary>
    protected abstract IBatchStore BrokenStore { get; }

    /// <summary>Creates or replaces an object behind the store's back, as another writer would.</summary>
    protected abstract Task PutBehindAsync(string key, byte[] content);

    protected abstract Task DeleteBehindAsync(string key);

    /// <summary>The iris sample, which every test project lays out under models/ in its output.</summary>
    protected ModelHost Host => _host ??= new ModelHost(new LocalFolderModelStore(Path.Combine(AppContext.BaseDirectory, "models")), new ModelHostOptions { DefaultIntraOpThreads = 1 });

    protected FakeTimeProvider Time { get; } = new(DateTimeOffset.UtcNow);

    protected static readonly string IrisCsv = "sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n6.3,3.3,6,2.5\n";

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            _host?.Dispose();
            Directory.Delete(_work, recursive: true);
        }
    }

    [Fact]
    public async Task Stat_MissingAndPresent_NullThenIdentityLengthAndTime()
    {
        var key = $"incoming/{F}/a.csv";
        Assert.Null(await Store.StatAsync(key, default));

        await PutBehindAsync(key, "hello"u8.ToArray());
        var stat = await Store.StatAsync(key, default);

        Assert.NotNull(stat);
        Assert.Equal((key, 5L), (stat.Key, stat.Length));
        Assert.False(string.IsNullOrEmpty(stat.Identity));
        Assert.InRange(stat.LastModified, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(5));
    }

    [Fact]
    public async Task Stat_Replaced_NewIdentity()
    {
        var key = $"incoming/{F}/a.csv";
        await PutBehindAsync(key, "one"u8.ToArray());
        var first = await Store.StatAsync(key, default);

        await PutBehindAsync(key, "two"u8.ToArray());
        var second = await Store.StatAsync(key, default);

        Assert.NotEqual(first!.Identity, second!.Identity);
    }

    [Theory]
    [InlineData(0, null, "0123456789")]
    [InlineData(0, 3L, "012")]
    [InlineData(4, null, "456789")]
    [InlineData(4, 2L, "45")]
    [InlineData(8, 100L, "89")]
    [InlineData(10, null, "")]
    [InlineData(3, 0L, "")]
    public async Task OpenRead_WholeOrRange_ExactlyThoseBytes(long offset, long? length, string expected)
    {
        var key = $"incoming/{F}/digits.csv";
        await PutBehindAsync(key, "0123456789"u8.ToArray());
        var stat = await Store.StatAsync(key, default);

        Assert.Equal(expected, await ReadTextAsync(stat!, offset, length));
    }

    [Fact]
    public async Task OpenRead_EmptyObject_Empty()
    {
        var key = $"incoming/{F}/empty.csv";
        await PutBehindAsync(key, []);

        Assert.Equal("", await ReadTextAsync((await Store.StatAsync(key, default))!, 0, null));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task OpenRead_ReplacedBetweenStatAndRead_RefusedNotOtherBytes(bool ranged)
    {
        var key = $"incoming/{F}/swap.csv";
        await PutBehindAsync(key, "original content\n"u8.ToArray());
        var stat = await Store.StatAsync(key, default);

        // Same length, other bytes: only the identity tells them apart.
        await PutBehindAsync(key, "replaced content\n"u8.ToArray());

        await Assert.ThrowsAsync<BatchObjectChangedException>(() => ReadTextAsync(stat!, ranged ? 2 : 0, ranged ? 5 : null));
    }

    [Fact]
    public async Task OpenRead_VanishedBeforeTheRead_RefusedAsChanged()
    {
        var key = $"incoming/{F}/gone.csv";
        await PutBehindAsync(key, "here\n"u8.ToArray());
        var stat = await Store.StatAsync(key, default);

        await DeleteBehindAsync(key);

        await Assert.ThrowsAsync<BatchObjectChangedException>(() => ReadTextAsync(stat!, 0, null));
    }

    [Fact]
    public async Task Create_NewThenTaken_TrueThenFalseAndTheFirstKept()
    {
        var key = $"outgoing/{F}/r.csv";

        Assert.True(await CreateAsync(key, "first"));
        Assert.False(await CreateAsync(key, "second"));
        Assert.Equal("first", await ReadTextAsync(key));
    }

    [Fact]
    public async Task Create_EightRacers_ExactlyOneWins()
    {
        var key = $"outgoing/{F}/race.csv";
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var racers = Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
        {
            await go.Task;
            return (Won: await CreateAsync(key, $"racer {i}"), Racer: i);
        })).ToArray();
        go.SetResult();

        var results = await Task.WhenAll(racers);

        var winner = Assert.Single(results, r => r.Won);
        Assert.Equal($"racer {winner.Racer}", await ReadTextAsync(key));
    }

    [Fact]
    public async Task Compose_SmallParts_TheirBytesInOrderCreateOnly()
    {
        var parts = new List<BatchObject>();
        for (var i = 0; i < 3; i++)
        {
            Assert.True(await CreateAsync($"outgoing/{F}/run/part-{i}.csv", $"part {i}\n"));
            parts.Add((await Store.StatAsync($"outgoing/{F}/run/part-{i}.csv", default))!);
        }

        var key = $"outgoing/{F}/whole.csv";
        Assert.True(await Store.ComposeAsync(key, parts, default));
        Assert.False(await Store.ComposeAsync(key, parts, default));
        Assert.Equal("part 0\npart 1\npart 2\n", await ReadTextAsync(key));
    }

    /// <summary>Parts of 6 MiB, 11 MiB and 5 bytes: above and below S3's 5 MiB minimum part size, so server-side copies and their fallbacks both run.</summary>
    [Fact]
    public async Task Compose_LargeAndSmallParts_ExactBytes()
    {
        var sizes = new[] { 6 << 20, 11 << 20, 5 };
        var expected = new List<byte>();
        var parts = new List<BatchObject>();
        for (var i = 0; i < sizes.Length; i++)
        {
            var bytes = new byte[sizes[i]];
            new Random(i).NextBytes(bytes);
            expected.AddRange(bytes);
            Assert.True(await Store.CreateAsync($"outgoing/{F}/run/part-{i}.csv", new MemoryStream(bytes), default));
            parts.Add((await Store.StatAsync($"outgoing/{F}/run/part-{i}.csv", default))!);
        }

        Assert.True(await Store.ComposeAsync($"outgoing/{F}/whole.csv", [parts[2], parts[0], parts[1]], default));

        var whole = await Store.StatAsync($"outgoing/{F}/whole.csv", default);
        Assert.Equal(expected.Count, whole!.Length);
        await using var read = await Store.OpenReadAsync(whole, default);
        using var copy = new MemoryStream();
        await read.CopyToAsync(copy);
        Assert.Equal([.. expected.Skip(sizes[0] + sizes[1]), .. expected.Take(sizes[0] + sizes[1])], copy.ToArray());
    }

    [Fact]
    public async Task Compose_PartReplacedSinceItWasChecked_RefusedAndNothingCreated()
    {
        Assert.True(await CreateAsync($"outgoing/{F}/run/part-0.csv", "zero\n"));
        Assert.True(await CreateAsync($"outgoing/{F}/run/part-1.csv", "one\n"));
        var parts = new[]
        {
            (await Store.StatAsync($"outgoing/{F}/run/part-0.csv", default))!,
            (await Store.StatAsync($"outgoing/{F}/run/part-1.csv", default))!,
        };
        await PutBehindAsync($"outgoing/{F}/run/part-1.csv", "ONE, replaced\n"u8.ToArray());

        await Assert.ThrowsAnyAsync<BatchObjectChangedException>(() => Store.ComposeAsync($"outgoing/{F}/whole.csv", parts, default));

        Assert.Null(await Store.StatAsync($"outgoing/{F}/whole.csv", default));
    }

    [Fact]
    public async Task Write_Twice_LastContentWins()
    {
        var key = $"failed/{F}/a.csv.attempts";

        await Store.WriteAsync(key, "1"u8.ToArray(), default);
        await Store.WriteAsync(key, "2"u8.ToArray(), default);

        Assert.Equal("2", await ReadTextAsync(key));
    }

    [Fact]
    public async Task Delete_Pinned_DeletesOnlyWhileUnchanged()
    {
        var kept = $"incoming/{F}/kept.csv";
        var deleted = $"incoming/{F}/deleted.csv";
        await PutBehindAsync(kept, "old"u8.ToArray());
        await PutBehindAsync(deleted, "old"u8.ToArray());
        var keptStat = await Store.StatAsync(kept, default);
        var deletedStat = await Store.StatAsync(deleted, default);

        await PutBehindAsync(kept, "newer"u8.ToArray());

        Assert.False(await Store.DeleteAsync(keptStat!, default));
        Assert.Equal("newer", await ReadTextAsync(kept));
        Assert.True(await Store.DeleteAsync(deletedStat!, default));
        Assert.Null(await Store.StatAsync(deleted, default));
        Assert.False(await Store.DeleteAsync(deletedStat!, default));
    }

    [Fact]
    public async Task List_Folder_EveryObjectUnderItWithItsIdentityAndNothingElse()
    {
        await PutBehindAsync($"incoming/{F}/a.csv", "a"u8.ToArray());
        await PutBehindAsync($"incoming/{F}/1/b.jsonl", "bb"u8.ToArray());
        await PutBehindAsync($"incoming/{F}x/c.csv", "c"u8.ToArray());
        Assert.True(await CreateAsync($"outgoing/{F}/r.csv", "r"));

        var listed = new List<BatchObject>();
        await foreach (var item in Store.ListAsync($"incoming/{F}/", default))
        {
            listed.Add(item);
        }

        Assert.Equal([$"incoming/{F}/1/b.jsonl", $"incoming/{F}/a.csv"], listed.Select(o => o.Key).Order(StringComparer.Ordinal));
        foreach (var item in listed)
        {
            Assert.Equal(await Store.StatAsync(item.Key, default), item with { LastModified = item.LastModified }, new SameObject());
        }
    }

    [Theory]
    [InlineData("my file+v2 é.csv")]
    [InlineData("Sales report 2026 (final)+v2 é.csv")]
    [InlineData("100% sure, really.csv")]
    [InlineData("données été.jsonl")]
    [InlineData("日本語のファイル.csv")]
    public async Task Keys_WhatPeopleNameFiles_RoundTrip(string name)
    {
        var key = $"incoming/{F}/{name}";
        await PutBehindAsync(key, Encoding.UTF8.GetBytes(name));

        Assert.Equal(name, await ReadTextAsync(key));
        var listed = new List<string>();
        await foreach (var item in Store.ListAsync($"incoming/{F}/", default))
        {
            listed.Add(item.Key);
        }

        Assert.Equal([key], listed);
    }

    [Fact]
    public async Task Keys_NfcAndNfd_AreTwoObjects()
    {
        var nfc = $"incoming/{F}/caf\u00e9.csv";
        var nfd = $"incoming/{F}/cafe\u0301.csv";

        Assert.True(await CreateAsync(nfc, "composed"));
        Assert.True(await CreateAsync(nfd, "decomposed"));

        Assert.Equal("composed", await ReadTextAsync(nfc));
        Assert.Equal("decomposed", await ReadTextAsync(nfd));
    }

    [Theory]
    [InlineData("incoming/{0}/../b.csv")]
    [InlineData("incoming/{0}/./b.csv")]
    [InlineData("incoming/{0}//b.csv")]
    [InlineData("incoming/{0}/b.csv/")]
    [InlineData("incoming/{0}/x/../../{0}/b.csv")]
    public async Task Keys_DotSegmentsAndEmptySegments_NeverNameAnotherObject(string pattern)
    {
        var real = $"incoming/{F}/b.csv";
        await PutBehindAsync(real, "the real b"u8.ToArray());
        var key = string.Format(System.Globalization.CultureInfo.InvariantCulture, pattern, F);

        // A store either refuses such a key outright or holds it as a name of its own: it never reaches b.csv.
        try
        {
            Assert.Null(await Store.StatAsync(key, default));
            Assert.True(await CreateAsync(key, "other"));
            Assert.Equal("other", await ReadTextAsync(key));
        }
        catch (BatchStoreException e)
        {
            Assert.True(e.KeyRefused, e.Message);
        }

        Assert.Equal("the real b", await ReadTextAsync(real));
    }

    [Fact]
    public async Task Keys_1024Bytes_RefusedOrHeldExactly()
    {
        var prefix = $"incoming/{F}/";
        var key = prefix + new string('k', 1024 - prefix.Length - 4) + ".csv";
        Assert.Equal(1024, Encoding.UTF8.GetByteCount(key));

        try
        {
            Assert.True(await CreateAsync(key, "long"));
            Assert.Equal("long", await ReadTextAsync(key));
        }
        catch (BatchStoreException e)
        {
            Assert.True(e.KeyRefused, e.Message);
        }
    }

    [Fact]
    public async Task EveryCall_BackendDown_OneExceptionFamily()
    {
        var pinned = new BatchObject($"incoming/{F}/a.csv", "\"x\"", 1, DateTimeOffset.UtcNow);

        await Assert.ThrowsAnyAsync<BatchStoreException>(() => BrokenStore.StatAsync(pinned.Key, default));
        await Assert.ThrowsAnyAsync<BatchStoreException>(() => BrokenStore.OpenReadAsync(pinned, 0, null, default));
        await Assert.ThrowsAnyAsync<BatchStoreException>(() => BrokenStore.CreateAsync($"outgoing/{F}/x", new MemoryStream([1]), default));
        await Assert.ThrowsAnyAsync<BatchStoreException>(() => BrokenStore.WriteAsync($"failed/{F}/x", new byte[] { 1 }, default));
        await Assert.ThrowsAnyAsync<BatchStoreException>(() => BrokenStore.DeleteAsync(pinned, default));
        await Assert.ThrowsAnyAsync<BatchStoreException>(async () =>
        {
            await foreach (var unused in BrokenStore.ListAsync("incoming/", default))
            {
            }
        });
    }

    /// <summary>Hostile input: a two-line file whose first line holds a lone surrogate escape once stopped a whole host.</summary>
    [Theory]
    [InlineData("{\"id\":\"\\ud800\",\"inputs\":[{\"name\":\"Features\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[5.1,3.5,1.4,0.2]}]}")]
    [InlineData("{\"Features\\udc00\":[5.1,3.5,1.4,0.2]}")]
    public async Task Runner_LoneSurrogateInALine_ThatRowsErrorAndTheFileScored(string line)
    {
        var key = $"incoming/iris/{F}.jsonl";
        await PutBehindAsync(key, Encoding.UTF8.GetBytes(line + "\n[6.3,3.3,6.0,2.5]\n"));

        var outcome = await Runner().ProcessAsync(key, default);

        Assert.Equal(BatchOutcomeKind.Scored, outcome.Kind);
        var results = (await ReadTextAsync(outcome.ResultsKey!)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("is not valid text", results[0], StringComparison.Ordinal);
        Assert.Contains("virginica", results[1], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("my file+v2 é.csv")]
    [InlineData("Sales report 2026 (final)+v2 é.csv")]
    public async Task Runner_OrdinaryFileName_Scored(string name)
    {
        var key = $"incoming/iris/{F} {name}";
        await PutBehindAsync(key, Encoding.UTF8.GetBytes(IrisCsv));

        var outcome = await Runner().ProcessAsync(key, default);

        Assert.Equal(BatchOutcomeKind.Scored, outcome.Kind);
        Assert.StartsWith($"outgoing/iris/{F} {name}.", outcome.ResultsKey, StringComparison.Ordinal);
        Assert.Equal(3, (await ReadTextAsync(outcome.ResultsKey!)).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public async Task Runner_ReplacedBetweenStatAndRead_NothingPublishedAndTheAttemptCounted()
    {
        var key = $"incoming/iris/{F}.csv";
        var original = Encoding.UTF8.GetBytes(IrisCsv);
        await PutBehindAsync(key, original);
        var identity = (await Store.StatAsync(key, default))!.Identity;
        var hooks = new StoreHooks(Store) { BeforeIncomingRead = () => PutBehindAsync(key, Encoding.UTF8.GetBytes(IrisCsv + "4.9,3,1.4,0.2\n")) };

        var outcome = await Runner(hooks).ProcessAsync(key, default);

        Assert.Equal(BatchOutcomeKind.WillRetry, outcome.Kind);
        Assert.Contains("changed or was removed", outcome.Error, StringComparison.Ordinal);
        Assert.Equal("1", await ReadTextAsync(BatchKey.TryParse(key, out _)!.AttemptsKey(identity)));
        Assert.DoesNotContain(await KeysAsync("outgoing/iris/"), k => k.Contains(F, StringComparison.Ordinal));

        // The next delivery scores the new content.
        var next = await Runner().ProcessAsync(key, default);
        Assert.Equal((BatchOutcomeKind.Scored, 3L), (next.Kind, next.Summary!.RowsIn));
    }

    [Fact]
    public async Task Runner_FallbackCopyRefusedWhileSettingAside_SourceKept()
    {
        var key = $"incoming/nomodel/{F}.csv";
        await PutBehindAsync(key, Encoding.UTF8.GetBytes(IrisCsv));
        var hooks = new StoreHooks(Store) { RefuseCreate = k => k.StartsWith(BatchKey.Failed + "/", StringComparison.Ordinal) };

        var outcome = await Runner(hooks).ProcessAsync(key, default);

        Assert.Equal(BatchOutcomeKind.Failed, outcome.Kind);
        Assert.Equal(IrisCsv, await ReadTextAsync(key));
        Assert.DoesNotContain(await KeysAsync("failed/nomodel/"), k => k.Contains(F, StringComparison.Ordinal) && !k.EndsWith(".attempts", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Runner_UnknownModel_SetAsideAtOnceWithAnErrorDocument()
    {
        var key = $"incoming/nomodel/{F}.csv";
        await PutBehindAsync(key, Encoding.UTF8.GetBytes(IrisCsv));

        var outcome = await Runner().ProcessAsync(key, default);

        Assert.Equal((BatchOutcomeKind.Failed, "unknown model 'nomodel'"), (outcome.Kind, outcome.Error));
        Assert.Null(await Store.StatAsync(key, default));
        Assert.Equal(IrisCsv, await ReadTextAsync($"failed/nomodel/{F}.csv"));
        using var document = System.Text.Json.JsonDocument.Parse(await ReadTextAsync($"failed/nomodel/{F}.csv.error.json"));
        Assert.Equal(key, document.RootElement.GetProperty("input").GetString());
        Assert.Equal(1, document.RootElement.GetProperty("attempts").GetInt32());
        Assert.Equal(Time.GetUtcNow(), document.RootElement.GetProperty("failed_at").GetDateTimeOffset());
    }

    [Theory]
    [InlineData("incoming/{0}.csv", "is not incoming/<model>[/<version>]/<file>")]
    [InlineData("incoming/Bad Model {0}/x.csv", "is not a model or version name")]
    [InlineData("incoming/iris/1/deep/{0}.csv", "is not incoming/<model>[/<version>]/<file>")]
    public async Task Runner_RefusedKey_MovedUnderFailedRefusedWithTheReason(string pattern, string reason)
    {
        var key = string.Format(System.Globalization.CultureInfo.InvariantCulture, pattern, F);
        await PutBehindAsync(key, Encoding.UTF8.GetBytes(IrisCsv));

        var outcome = await Runner().ProcessAsync(key, default);

        Assert.Equal(BatchOutcomeKind.Failed, outcome.Kind);
        Assert.Contains(reason, outcome.Error, StringComparison.Ordinal);
        Assert.Null(await Store.StatAsync(key, default));
        var refused = BatchKey.RefusedKey(key);
        Assert.Equal(IrisCsv, await ReadTextAsync(refused));
        using var document = System.Text.Json.JsonDocument.Parse(await ReadTextAsync(refused + ".error.json"));
        Assert.Equal(key, document.RootElement.GetProperty("input").GetString());
        Assert.Contains(reason, document.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Runner_StoreFailsEveryCall_ReportedAsRetryNeverThrown()
    {
        var outcome = await Runner(BrokenStore).ProcessAsync($"incoming/iris/{F}.csv", default);

        Assert.Equal(BatchOutcomeKind.WillRetry, outcome.Kind);
        Assert.StartsWith("the input could not be checked: ", outcome.Error, StringComparison.Ordinal);
    }

    protected BatchJobRunner Runner(IBatchStore? store = null, int maxAttempts = 3) =>
        new(store ?? Store, Host, new BatchRunnerOptions { MaxAttempts = maxAttempts, WorkDirectory = _work }, null, Time);

    protected async Task<bool> CreateAsync(string key, string content)
    {
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(content));
        return await Store.CreateAsync(key, stream, default);
    }

    protected async Task<string> ReadTextAsync(string key) =>
        await ReadTextAsync(await Store.StatAsync(key, default) ?? throw new InvalidOperationException($"{key} does not exist"), 0, null);

    protected async Task<string> ReadTextAsync(BatchObject pinned, long offset, long? length)
    {
        await using var stream = await Store.OpenReadAsync(pinned, offset, length, default);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return await reader.ReadToEndAsync();
    }

    protected async Task<List<string>> KeysAsync(string prefix)
    {
        var keys = new List<string>();
        await foreach (var item in Store.ListAsync(prefix, default))
        {
            keys.Add(item.Key);
        }

        return keys;
    }

    /// <summary>Key, identity and length agree; times may differ in precision between a listing and a stat.</summary>
    private sealed class SameObject : IEqualityComparer<BatchObject?>
    {
        public bool Equals(BatchObject? x, BatchObject? y) =>
            x is not null && y is not null && (x.Key, x.Identity, x.Length) == (y.Key, y.Identity, y.Length)
            && (x.LastModified - y.LastModified).Duration() < TimeSpan.FromSeconds(1);

        public int GetHashCode(BatchObject? obj) => obj?.Key.GetHashCode(StringComparison.Ordinal) ?? 0;
    }
}

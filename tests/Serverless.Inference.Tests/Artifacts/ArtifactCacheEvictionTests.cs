using Microsoft.Extensions.Time.Testing;
using Serverless.Inference.Artifacts;
using Serverless.Inference.Repository;
using Serverless.Inference.Tests.Hosting.Support;

namespace Serverless.Inference.Tests.Artifacts;

/// <summary>
/// Entries are removed after a download: those unused for longer than MaxAge, then the least recently used beyond
/// the size budget; never those the process uses. A new <see cref="ArtifactCache"/> over the same folder stands in
/// for a new process.
/// </summary>
public sealed class ArtifactCacheEvictionTests : IDisposable
{
    private const int FileBytes = 100;

    private readonly HostTestRepository _folders = new();
    private readonly InMemoryModelStore _store = new();
    private readonly FakeTimeProvider _time = new();

    public void Dispose() => _folders.Dispose();

    [Fact]
    public async Task Download_EntryUnusedLongerThanMaxAge_IsRemoved()
    {
        var old = await Get(NewProcess(), "a");
        _time.Advance(TimeSpan.FromDays(7) + TimeSpan.FromMinutes(1));

        var fresh = await Get(NewProcess(), "b");

        Assert.False(Directory.Exists(Path.GetDirectoryName(old)));
        Assert.True(File.Exists(fresh));
    }

    [Fact]
    public async Task Download_EntryUsedWithinMaxAge_IsKept()
    {
        var first = await Get(NewProcess(), "a");
        _time.Advance(TimeSpan.FromDays(6));
        await Get(NewProcess(), "a");
        _time.Advance(TimeSpan.FromDays(6));

        await Get(NewProcess(), "b");

        Assert.True(File.Exists(first));
        Assert.Equal(1, _store.OpenCount(ModelFile("a")));
    }

    [Fact]
    public async Task Download_OverMaxBytes_RemovesTheLeastRecentlyUsedFirst()
    {
        var earlier = NewProcess();
        var a = await Get(earlier, "a");
        _time.Advance(TimeSpan.FromHours(1));
        var b = await Get(earlier, "b");
        _time.Advance(TimeSpan.FromHours(1));
        var c = await Get(earlier, "c");
        _time.Advance(TimeSpan.FromHours(1));
        await Get(NewProcess(), "a");
        _time.Advance(TimeSpan.FromHours(1));
        var entry = EntryBytes(a);

        var d = await Get(NewProcess(maxBytes: (3 * entry) + (entry / 2)), "d");

        Assert.False(File.Exists(b));
        Assert.All([a, c, d], path => Assert.True(File.Exists(path)));
    }

    [Fact]
    public async Task Download_OverAShareOfTheDisk_RemovesTheLeastRecentlyUsed()
    {
        var earlier = NewProcess();
        var a = await Get(earlier, "a");
        _time.Advance(TimeSpan.FromHours(1));
        var b = await Get(earlier, "b");
        _time.Advance(TimeSpan.FromHours(1));
        var entry = EntryBytes(a);
        var cache = new ArtifactCache(_folders.CacheDirectory, _time) { AvailableBytes = _ => entry };

        // Half of (3 entries held + 1 entry free) leaves room for two.
        var c = await Get(cache, "c");

        Assert.False(File.Exists(a));
        Assert.True(File.Exists(b));
        Assert.True(File.Exists(c));
    }

    [Fact]
    public async Task Download_EntriesThisProcessUses_AreNeverRemoved()
    {
        var cache = NewProcess(maxBytes: 0);
        var a = await Get(cache, "a");
        var derived = cache.GetDerivedPath("graph", "optimized.onnx");
        File.WriteAllBytes(derived, new byte[FileBytes]);
        File.WriteAllBytes(derived + ".part-0123", new byte[FileBytes]);
        _time.Advance(TimeSpan.FromDays(30));

        var b = await Get(cache, "b");

        Assert.All([a, b, derived, derived + ".part-0123"], path => Assert.True(File.Exists(path)));
    }

    [Fact]
    public async Task Download_NewIdentityOfTheSameFile_LetsTheOldCopyGo()
    {
        var cache = NewProcess();
        var v1 = await Get(cache, "a", "v1");
        _time.Advance(TimeSpan.FromDays(8));

        var v2 = await Get(cache, "a", "v2");

        Assert.False(File.Exists(v1));
        Assert.True(File.Exists(v2));
    }

    [Fact]
    public async Task Download_OldDerivedFiles_AreRemovedLikeDownloads()
    {
        var derived = NewProcess().GetDerivedPath("graph of another runtime version", "optimized.onnx");
        File.WriteAllBytes(derived, new byte[FileBytes]);
        File.WriteAllBytes(derived + ".part-0123", new byte[FileBytes]);
        File.SetLastWriteTimeUtc(derived, _time.GetUtcNow().UtcDateTime);
        File.SetLastWriteTimeUtc(derived + ".part-0123", _time.GetUtcNow().UtcDateTime);
        _time.Advance(TimeSpan.FromDays(8));

        await Get(NewProcess(), "a");

        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(derived)!));
    }

    [Fact]
    public async Task Download_FilesTheCacheDidNotWrite_AreLeftAlone()
    {
        var cache = NewProcess(maxBytes: 0);
        Directory.CreateDirectory(Path.Combine(cache.Root, "derived"));
        string[] strangers =
        [
            Path.Combine(cache.Root, "notes.txt"),
            Path.Combine(cache.Root, "other", "model.onnx"),
            Path.Combine(cache.Root, "derived", "optimized.onnx"),
        ];
        foreach (var path in strangers)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, new byte[FileBytes]);
            File.SetLastWriteTimeUtc(path, _time.GetUtcNow().UtcDateTime);
        }

        _time.Advance(TimeSpan.FromDays(30));

        await Get(cache, "a");

        Assert.All(strangers, path => Assert.True(File.Exists(path)));
    }

    private ArtifactCache NewProcess(long maxBytes = long.MaxValue) =>
        new(_folders.CacheDirectory, _time) { MaxBytes = maxBytes, AvailableBytes = _ => null };

    private async Task<string> Get(ArtifactCache cache, string model, string identity = "v1")
    {
        var content = new byte[FileBytes];
        new Random(model.GetHashCode(StringComparison.Ordinal) ^ identity.GetHashCode(StringComparison.Ordinal)).NextBytes(content);
        _store.Put(ModelFile(model), content, identity);
        return await cache.GetLocalPathAsync(_store, new StoredFile(ModelFile(model), identity, content.Length), CancellationToken.None);
    }

    private static ModelFilePath ModelFile(string model) => ModelFilePath.Onnx(model, "1");

    private static long EntryBytes(string path) =>
        Directory.GetFiles(Path.GetDirectoryName(path)!).Sum(file => new FileInfo(file).Length);
}

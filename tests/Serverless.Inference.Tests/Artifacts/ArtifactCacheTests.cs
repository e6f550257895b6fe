using Serverless.Inference.Artifacts;
using Serverless.Inference.Repository;
using Serverless.Inference.Tests.Hosting.Support;

namespace Serverless.Inference.Tests.Artifacts;

public sealed class ArtifactCacheTests : IDisposable
{
    private static readonly ModelFilePath ModelFile = ModelFilePath.Onnx("m", "1");

    private readonly HostTestRepository _folders = new();
    private readonly InMemoryModelStore _store = new();
    private readonly ArtifactCache _cache;

    public ArtifactCacheTests()
    {
        _cache = new ArtifactCache(_folders.CacheDirectory);
    }

    public void Dispose() => _folders.Dispose();

    [Fact]
    public async Task GetLocalPathAsync_ConcurrentCallers_DownloadOnce()
    {
        const int Callers = 16;
        var content = Content(1000, seed: 1);
        var file = Put(content, "v1");
        var allJoined = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _store.BeforeOpen = _ => allJoined.Task;

        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var joined = 0;
        var callers = Enumerable.Range(0, Callers).Select(_ => Task.Run(async () =>
        {
            await go.Task;
            var path = _cache.GetLocalPathAsync(_store, file, CancellationToken.None);
            if (Interlocked.Increment(ref joined) == Callers)
            {
                allJoined.TrySetResult();
            }

            return await path;
        })).ToArray();
        go.SetResult();
        var paths = await Task.WhenAll(callers).WaitAsync(ModelRunner.HangGuard);

        Assert.Equal(1, _store.OpenCount(ModelFile));
        Assert.Single(paths.Distinct());
        Assert.Equal(content, File.ReadAllBytes(paths[0]));
        Assert.StartsWith(_cache.Root + Path.DirectorySeparatorChar, paths[0], StringComparison.Ordinal);
        Assert.Equal("model.onnx", Path.GetFileName(paths[0]));
    }

    [Fact]
    public async Task GetLocalPathAsync_SameIdentityAgain_ReturnsTheSamePathWithoutDownloading()
    {
        var file = Put(Content(100, seed: 1), "v1");

        var first = await _cache.GetLocalPathAsync(_store, file, CancellationToken.None);
        var second = await _cache.GetLocalPathAsync(_store, file, CancellationToken.None);
        var fromAnotherInstance = await new ArtifactCache(_folders.CacheDirectory).GetLocalPathAsync(_store, file, CancellationToken.None);

        Assert.Equal(first, second);
        Assert.Equal(first, fromAnotherInstance);
        Assert.Equal(1, _store.OpenCount(ModelFile));
    }

    [Fact]
    public async Task GetLocalPathAsync_NewIdentity_DownloadsToANewPath()
    {
        var oldContent = Content(100, seed: 1);
        var newContent = Content(100, seed: 2);
        var oldPath = await _cache.GetLocalPathAsync(_store, Put(oldContent, "v1"), CancellationToken.None);

        var newPath = await _cache.GetLocalPathAsync(_store, Put(newContent, "v2"), CancellationToken.None);

        Assert.NotEqual(oldPath, newPath);
        Assert.Equal(2, _store.OpenCount(ModelFile));
        Assert.Equal(newContent, File.ReadAllBytes(newPath));
        Assert.Equal(oldContent, File.ReadAllBytes(oldPath));
    }

    [Fact]
    public async Task GetLocalPathAsync_TruncatedDownload_ThrowsAndLeavesNoFileBehind()
    {
        var content = Content(1000, seed: 3);
        var file = Put(content, "v1");
        _store.TruncateTo = 600;

        var failure = await Assert.ThrowsAsync<InferenceException>(() => _cache.GetLocalPathAsync(_store, file, CancellationToken.None));

        Assert.Equal(InferenceErrorKind.Unavailable, failure.Kind);
        Assert.Contains("m/1/model.onnx", failure.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.Exists(_cache.Root) ? Directory.GetFiles(_cache.Root, "*", SearchOption.AllDirectories) : []);

        // The failure is not remembered: the next call downloads again, in full.
        _store.TruncateTo = null;
        var path = await _cache.GetLocalPathAsync(_store, file, CancellationToken.None);
        Assert.Equal(content, File.ReadAllBytes(path));
        Assert.Equal(2, _store.OpenCount(ModelFile));
        Assert.Equal([path, path + ".sha256"], Directory.GetFiles(_cache.Root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task GetLocalPathAsync_OneCallerCancelled_SharedDownloadStillCompletesForTheOthers()
    {
        var content = Content(500, seed: 4);
        var file = Put(content, "v1");
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _store.BeforeOpen = _ => release.Task;
        using var cancel = new CancellationTokenSource();

        var cancelled = _cache.GetLocalPathAsync(_store, file, cancel.Token);
        var patient = _cache.GetLocalPathAsync(_store, file, CancellationToken.None);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        release.SetResult();

        var path = await patient.WaitAsync(ModelRunner.HangGuard);
        Assert.Equal(content, File.ReadAllBytes(path));
        Assert.Equal(1, _store.OpenCount(ModelFile));
    }

    [Fact]
    public async Task GetLocalPathAsync_LocalStore_ReturnsTheStoresOwnFileWithoutCopying()
    {
        _folders.Model("m", "1", Content(64, seed: 5));
        var store = new LocalFolderModelStore(_folders.Root);
        var file = await store.StatAsync(ModelFile, CancellationToken.None);

        var path = await _cache.GetLocalPathAsync(store, file!, CancellationToken.None);

        Assert.Equal(Path.GetFullPath(_folders.ModelPath("m", "1")), path);
        Assert.False(Directory.Exists(_folders.CacheDirectory));
    }

    [Fact]
    public void GetDerivedPath_KeyedByIdentity_StaysInsideTheCacheFolder()
    {
        var first = _cache.GetDerivedPath("sha256:aaaa", "optimized.onnx");
        var again = _cache.GetDerivedPath("sha256:aaaa", "optimized.onnx");
        var other = _cache.GetDerivedPath("sha256:bbbb", "optimized.onnx");

        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
        Assert.Equal(Path.Combine(_cache.Root, "derived"), Path.GetDirectoryName(first));
        Assert.EndsWith("-optimized.onnx", first, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("../escape.onnx")]
    [InlineData("a/b.onnx")]
    [InlineData("")]
    public void GetDerivedPath_InvalidFileName_IsRefused(string fileName)
    {
        var failure = Assert.Throws<InferenceException>(() => _cache.GetDerivedPath("sha256:aaaa", fileName));

        Assert.Equal(InferenceErrorKind.BadRequest, failure.Kind);
    }

    private StoredFile Put(byte[] content, string identity)
    {
        _store.Put(ModelFile, content, identity);
        return new StoredFile(ModelFile, identity, content.Length);
    }

    private static byte[] Content(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}

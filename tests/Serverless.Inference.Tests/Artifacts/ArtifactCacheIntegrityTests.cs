using System.Security.Cryptography;
using Serverless.Inference.Artifacts;
using Serverless.Inference.Repository;
using Serverless.Inference.Tests.Hosting.Support;

namespace Serverless.Inference.Tests.Artifacts;

/// <summary>
/// A cached copy is trusted only when its content matches the SHA-256 recorded at download, checked the first time a
/// process uses it. A new <see cref="ArtifactCache"/> over the same folder stands in for a new process.
/// </summary>
public sealed class ArtifactCacheIntegrityTests : IDisposable
{
    private static readonly ModelFilePath ModelFile = ModelFilePath.Onnx("m", "1");

    private readonly HostTestRepository _folders = new();
    private readonly InMemoryModelStore _store = new();

    public void Dispose() => _folders.Dispose();

    [Fact]
    public async Task Download_RecordsTheContentHashBesideTheFile()
    {
        var content = Content(1000, seed: 1);

        var path = await NewProcess().GetLocalPathAsync(_store, Put(content, "etag-1"), CancellationToken.None);

        Assert.Equal(ContentHash(content) + "\n", File.ReadAllText(path + ".sha256"));
    }

    [Fact]
    public async Task GetLocalPathAsync_CopyReplacedBySameLengthContent_IsDownloadedAgain()
    {
        var content = Content(1000, seed: 1);
        var file = Put(content, "etag-1");
        var path = await NewProcess().GetLocalPathAsync(_store, file, CancellationToken.None);
        File.WriteAllBytes(path, Content(1000, seed: 2));

        var again = await NewProcess().GetLocalPathAsync(_store, file, CancellationToken.None);

        Assert.Equal(path, again);
        Assert.Equal(content, File.ReadAllBytes(again));
        Assert.Equal(2, _store.OpenCount(ModelFile));
    }

    [Fact]
    public async Task GetLocalPathAsync_CopyWithoutRecordedHash_IsDownloadedAgain()
    {
        var content = Content(1000, seed: 1);
        var file = Put(content, "etag-1");
        var path = await NewProcess().GetLocalPathAsync(_store, file, CancellationToken.None);
        File.Delete(path + ".sha256");

        await NewProcess().GetLocalPathAsync(_store, file, CancellationToken.None);

        Assert.Equal(2, _store.OpenCount(ModelFile));
        Assert.Equal(ContentHash(content) + "\n", File.ReadAllText(path + ".sha256"));
    }

    [Fact]
    public async Task GetLocalPathAsync_CopyAndRecordedHashBothReplaced_AreCaughtByAContentHashIdentity()
    {
        var content = Content(1000, seed: 1);
        var file = Put(content, ContentHash(content));
        var path = await NewProcess().GetLocalPathAsync(_store, file, CancellationToken.None);
        var planted = Content(1000, seed: 2);
        File.WriteAllBytes(path, planted);
        File.WriteAllText(path + ".sha256", ContentHash(planted) + "\n");

        var again = await NewProcess().GetLocalPathAsync(_store, file, CancellationToken.None);

        Assert.Equal(content, File.ReadAllBytes(again));
        Assert.Equal(2, _store.OpenCount(ModelFile));
    }

    [Fact]
    public async Task GetLocalPathAsync_DownloadNotMatchingItsContentHashIdentity_ThrowsAndKeepsNothing()
    {
        var content = Content(1000, seed: 1);
        var file = Put(content, ContentHash(Content(1000, seed: 2)));
        var cache = NewProcess();

        var failure = await Assert.ThrowsAsync<InferenceException>(() => cache.GetLocalPathAsync(_store, file, CancellationToken.None));

        Assert.Equal(InferenceErrorKind.Unavailable, failure.Kind);
        Assert.Contains("does not match its identity", failure.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(cache.Root, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task GetLocalPathAsync_VerifiedEarlierInThisProcess_IsNotReadAgain()
    {
        var content = Content(1000, seed: 1);
        var file = Put(content, "etag-1");
        var cache = NewProcess();
        var path = await cache.GetLocalPathAsync(_store, file, CancellationToken.None);
        File.Delete(path + ".sha256");

        // Warm loads pay nothing: what this process downloaded or verified is trusted for its lifetime.
        var again = await cache.GetLocalPathAsync(_store, file, CancellationToken.None);

        Assert.Equal(path, again);
        Assert.Equal(1, _store.OpenCount(ModelFile));
        Assert.False(File.Exists(path + ".sha256"));
    }

    [Fact]
    public async Task GetLocalPathAsync_IntactCopyFromAnotherProcess_IsVerifiedAndUsed()
    {
        var content = Content(1000, seed: 1);
        var file = Put(content, ContentHash(content));
        var path = await NewProcess().GetLocalPathAsync(_store, file, CancellationToken.None);

        var again = await NewProcess().GetLocalPathAsync(_store, file, CancellationToken.None);

        Assert.Equal(path, again);
        Assert.Equal(1, _store.OpenCount(ModelFile));
    }

    private ArtifactCache NewProcess() => new(_folders.CacheDirectory);

    private StoredFile Put(byte[] content, string identity)
    {
        _store.Put(ModelFile, content, identity);
        return new StoredFile(ModelFile, identity, content.Length);
    }

    private static string ContentHash(byte[] content) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(content));

    private static byte[] Content(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}

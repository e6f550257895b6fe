using System.Diagnostics;
using System.Runtime.Versioning;
using Serverless.Inference.Artifacts;
using Serverless.Inference.Repository;
using Serverless.Inference.Tests.Hosting.Support;

namespace Serverless.Inference.Tests.Artifacts;

/// <summary>The cache folder must be private to this user: another local user must not be able to create it first or write to it.</summary>
public sealed class ArtifactCacheFolderTests : IDisposable
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    private static readonly ModelFilePath ModelFile = ModelFilePath.Onnx("m", "1");

    private readonly HostTestRepository _folders = new();
    private readonly InMemoryModelStore _store = new();

    public void Dispose() => _folders.Dispose();

    private string Parent => Path.GetDirectoryName(_folders.CacheDirectory)!;

    [Fact]
    public async Task Root_Missing_IsCreatedForTheOwnerOnly()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var cache = new ArtifactCache(_folders.CacheDirectory);
        var path = await Download(cache);

        Assert.Equal(_folders.CacheDirectory, cache.Root);
        Assert.Null(cache.RootRejection);
        Assert.Equal(OwnerOnly, File.GetUnixFileMode(cache.Root));
        Assert.StartsWith(cache.Root + Path.DirectorySeparatorChar, path, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Root_ExistingOwnFolderOthersCannotWrite_IsUsedAsItIs()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var mode = OwnerOnly | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
        Directory.CreateDirectory(_folders.CacheDirectory, mode);
        var cache = new ArtifactCache(_folders.CacheDirectory);

        await Download(cache);

        Assert.Equal(_folders.CacheDirectory, cache.Root);
        Assert.Null(cache.RootRejection);
        Assert.Equal(mode, File.GetUnixFileMode(cache.Root));
    }

    [Theory]
    [InlineData(0b111_111_111)]
    [InlineData(0b111_111_000)]
    [InlineData(0b111_000_011)]
    public async Task Root_WritableByOthers_IsNotUsed(int mode)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        Directory.CreateDirectory(_folders.CacheDirectory);
        File.SetUnixFileMode(_folders.CacheDirectory, (UnixFileMode)mode);

        var cache = new ArtifactCache(_folders.CacheDirectory);
        await Download(cache);

        AssertFreshPrivateFolder(cache);
        Assert.Contains("other users may write to it", cache.RootRejection, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_folders.CacheDirectory));
    }

    [Fact]
    public async Task Root_OwnedByAnotherUser_IsNotUsed()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        string configured;
        if (PrivateDirectory.CurrentUser() == 0)
        {
            configured = _folders.CacheDirectory;
            Directory.CreateDirectory(configured, OwnerOnly);
            ChangeOwner(configured, "65534");
        }
        else
        {
            // Without root no folder can be given away; one that root owns stands in for another user's.
            configured = "/usr";
        }

        var cache = new ArtifactCache(configured);
        try
        {
            await Download(cache);

            Assert.NotEqual(configured, cache.Root);
            Assert.Equal(OwnerOnly, File.GetUnixFileMode(cache.Root));
            Assert.Contains("it is owned by uid", cache.RootRejection, StringComparison.Ordinal);
        }
        finally
        {
            if (!cache.Root.StartsWith(Parent, StringComparison.Ordinal))
            {
                Directory.Delete(cache.Root, recursive: true);
            }
        }
    }

    [Fact]
    public async Task Root_SymbolicLinkToAPrivateFolder_IsNotUsed()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var target = Path.Combine(Parent, "elsewhere");
        Directory.CreateDirectory(target, OwnerOnly);
        Directory.CreateSymbolicLink(_folders.CacheDirectory, target);

        var cache = new ArtifactCache(_folders.CacheDirectory);
        await Download(cache);

        AssertFreshPrivateFolder(cache);
        Assert.Equal("it is a symbolic link", cache.RootRejection);
        Assert.Empty(Directory.EnumerateFileSystemEntries(target));
    }

    [Fact]
    public async Task Root_Rejected_EachCacheGetsItsOwnUnpredictableFolder()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        Directory.CreateDirectory(_folders.CacheDirectory);
        File.SetUnixFileMode(_folders.CacheDirectory, (UnixFileMode)0b111_111_111);

        var first = new ArtifactCache(_folders.CacheDirectory);
        var second = new ArtifactCache(_folders.CacheDirectory);

        Assert.NotEqual(first.Root, second.Root);
    }

    [UnsupportedOSPlatform("windows")]
    private void AssertFreshPrivateFolder(ArtifactCache cache)
    {
        Assert.Equal(Parent, Path.GetDirectoryName(cache.Root));
        Assert.Matches($"^cache-{PrivateDirectory.CurrentUser()}-[0-9a-f]{{32}}$", Path.GetFileName(cache.Root));
        Assert.Equal(OwnerOnly, File.GetUnixFileMode(cache.Root));
        Assert.Single(Directory.GetFiles(cache.Root, "model.onnx", SearchOption.AllDirectories));
    }

    private async Task<string> Download(ArtifactCache cache)
    {
        byte[] content = [1, 2, 3, 4];
        _store.Put(ModelFile, content, "v1");
        var path = await cache.GetLocalPathAsync(_store, new StoredFile(ModelFile, "v1", content.Length), CancellationToken.None);
        Assert.Equal(content, File.ReadAllBytes(path));
        return path;
    }

    private static void ChangeOwner(string path, string owner)
    {
        using var chown = Process.Start("chown", [owner, path]);
        chown.WaitForExit();
        Assert.Equal(0, chown.ExitCode);
    }
}

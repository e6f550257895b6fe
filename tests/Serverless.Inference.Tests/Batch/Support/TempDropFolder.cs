using System.Security.Cryptography;
using System.Text;
using Serverless.Inference.Batch;

namespace Serverless.Inference.Tests.Batch.Support;

/// <summary>
/// A batch drop folder (incoming/, outgoing/, failed/) in a fresh temp folder with a
/// <see cref="LocalFolderBatchStore"/> over it, plus a separate work directory; both are deleted on dispose.
/// </summary>
public sealed class TempDropFolder : IDisposable
{
    public TempDropFolder()
    {
        var root = Path.Combine(Path.GetTempPath(), "batch-tests-" + Guid.NewGuid().ToString("N"));
        Root = Path.Combine(root, "drop");
        WorkDirectory = Path.Combine(root, "work");
        Directory.CreateDirectory(Root);
        Directory.CreateDirectory(WorkDirectory);
        Store = new LocalFolderBatchStore(Root);
    }

    public string Root { get; }

    /// <summary>Where a runner writes its temporary results; empty again after every run.</summary>
    public string WorkDirectory { get; }

    public LocalFolderBatchStore Store { get; }

    public string PathOf(string key) => Path.Combine(Root, key);

    /// <summary>Writes a file at <paramref name="key"/> (a path relative to the root) and returns the key.</summary>
    public string Put(string key, byte[] content)
    {
        var path = PathOf(key);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, content);
        return key;
    }

    public string Put(string key, string content) => Put(key, Encoding.UTF8.GetBytes(content));

    public bool Exists(string key) => File.Exists(PathOf(key));

    public byte[] Read(string key) => File.ReadAllBytes(PathOf(key));

    public string ReadText(string key) => File.ReadAllText(PathOf(key));

    /// <summary>Every file under <paramref name="folder"/> (the whole drop folder when null), as sorted keys.</summary>
    public IReadOnlyList<string> Files(string? folder = null)
    {
        var directory = folder is null ? Root : PathOf(folder);
        return !Directory.Exists(directory)
            ? []
            : [.. Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
                .Select(file => Path.GetRelativePath(Root, file).Replace('\\', '/'))
                .Order(StringComparer.Ordinal)];
    }

    /// <summary>Every file under the root (and the work directory) with a hash of its content.</summary>
    public IReadOnlyDictionary<string, string> Snapshot()
    {
        var files = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(Path.GetDirectoryName(Root)!, "*", SearchOption.AllDirectories))
        {
            files[Path.GetRelativePath(Root, file).Replace('\\', '/')] = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file)));
        }

        return files;
    }

    public static string Identity(byte[] content) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(content));

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path.GetDirectoryName(Root)!, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a leftover temp folder must not fail a test.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

using System.Runtime.CompilerServices;

namespace Serverless.Infer.Cli.Monitor;

/// <summary>A local capture folder (read recursively), or one file: a batch result or training data.</summary>
internal sealed class LocalSource(string path) : ICaptureSource
{
    public async IAsyncEnumerable<CaptureObject> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.CompletedTask;
        if (File.Exists(path))
        {
            yield return Open(path, Path.GetFileName(path));
            yield break;
        }

        if (!Directory.Exists(path))
        {
            throw new MonitorException(MonitorExitCodes.Unreadable, $"{Path.GetFullPath(path)} is neither a folder nor a file");
        }

        var files = Directory.EnumerateFiles(path, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = false })
            .Select(file => Path.GetRelativePath(path, file).Replace('\\', '/'))
            .Where(CaptureObject.IsReadable)
            .Order(StringComparer.Ordinal);
        foreach (var file in files)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return Open(Path.Combine(path, file), file);
        }
    }

    private static CaptureObject Open(string file, string key) =>
        new(key, _ => Task.FromResult<Stream>(new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true)));
}

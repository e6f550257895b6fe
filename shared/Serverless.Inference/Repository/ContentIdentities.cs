using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Serverless.Inference.Repository;

/// <summary>
/// The identity of a local file: "sha256:" and the hex SHA-256 of its content, remembered per
/// (length, last write time) so each file is hashed once per change.
/// </summary>
internal sealed class ContentIdentities
{
    private readonly ConcurrentDictionary<string, (long Length, DateTime Written, string Identity)> _known = new();

    public async Task<string> GetAsync(FileInfo file, CancellationToken cancellationToken)
    {
        if (_known.TryGetValue(file.FullName, out var known) && known.Length == file.Length && known.Written == file.LastWriteTimeUtc)
        {
            return known.Identity;
        }

        await using var stream = new FileStream(file.FullName, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16, useAsync: true);
        var identity = "sha256:" + Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
        _known[file.FullName] = (file.Length, file.LastWriteTimeUtc, identity);
        return identity;
    }
}

using System.Formats.Tar;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Security.Cryptography;

namespace Serverless.Inference.Artifacts;

/// <summary>
/// A folder only this user can write to. The configured cache folder usually sits in a shared, predictable
/// place (<c>/tmp/serverless-inference</c>), where another local user could create it first or plant files in it;
/// such a folder is never used, a fresh one with an unpredictable name is.
/// </summary>
internal static partial class PrivateDirectory
{
    public const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>The folder to use: <paramref name="configured"/> when it is safe, else a new private one beside it.</summary>
    /// <param name="rejection">Why <paramref name="configured"/> was not used, or null when it was.</param>
    public static string Resolve(string configured, out string? rejection)
    {
        rejection = null;
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(configured);
            return configured;
        }

        try
        {
            // Creates it with 0700 when missing (missing parents get the default mode); leaves an existing one as it is.
            Directory.CreateDirectory(configured, OwnerOnly);
            rejection = Problem(configured);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            rejection = e.Message;
        }

        if (rejection is null)
        {
            return configured;
        }

        var name = $"{Path.GetFileName(configured)}-{CurrentUser()}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16))}";
        var parent = Path.GetDirectoryName(configured);
        string fallback;
        try
        {
            fallback = CreateFresh(Path.Combine(parent ?? Path.GetTempPath(), name));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException && parent is not null)
        {
            fallback = CreateFresh(Path.Combine(Path.GetTempPath(), name));
        }

        return fallback;
    }

    /// <summary>Why the existing folder is not private to this user, or null when it is.</summary>
    public static string? Problem(string path)
    {
        var entry = Describe(path);
        var user = CurrentUser();
        return entry.EntryType == TarEntryType.SymbolicLink ? "it is a symbolic link"
            : entry.EntryType != TarEntryType.Directory ? $"it is not a directory ({entry.EntryType})"
            : entry.Uid != user ? $"it is owned by uid {entry.Uid}, not by this process's uid {user}"
            : (entry.Mode & (UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0 ? $"other users may write to it (mode {Octal(entry.Mode)})"
            : null;
    }

    [UnsupportedOSPlatform("windows")]
    private static string CreateFresh(string path)
    {
        Directory.CreateDirectory(path, OwnerOnly);
        // The name is unpredictable, so this only fails if something is badly wrong; never use it then.
        return Problem(path) is { } problem
            ? throw new InferenceException(InferenceErrorKind.Unavailable, $"cannot create a private artifact cache folder at '{path}': {problem}")
            : path;
    }

    /// <summary>The owner, type and mode of the path itself, not of a link's target.</summary>
    private static PosixTarEntry Describe(string path)
    {
        // The BCL has no owner API and the layout of libc's struct stat differs per architecture; a tar header
        // carries exactly what lstat reports, read by the runtime's own native layer.
        using var buffer = new MemoryStream();
        using (var writer = new TarWriter(buffer, TarEntryFormat.Pax, leaveOpen: true))
        {
            writer.WriteEntry(path, "entry");
        }

        buffer.Position = 0;
        using var reader = new TarReader(buffer);
        return (PosixTarEntry)reader.GetNextEntry()!;
    }

    public static int CurrentUser() => checked((int)GetEffectiveUserId());

    private static string Octal(UnixFileMode mode) => Convert.ToString((int)mode & 0x1FF, 8);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEffectiveUserId();
}

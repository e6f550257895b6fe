using System.Runtime.InteropServices;

namespace Serverless.Inference.Batch;

/// <summary>
/// Publishes a finished temporary file under its final name only if that name is free, atomically.
/// <c>File.Move(overwrite: false)</c> is not enough on Unix: .NET checks for the target and then renames,
/// so two racing writers can both succeed. A hard link fails with EEXIST in one step, as Azure's and S3's
/// <c>If-None-Match: *</c> does.
/// </summary>
internal static partial class CreateOnlyFile
{
    private const int AlreadyExists = 17; // EEXIST on Linux and macOS

    /// <returns>False when the target already exists; the temporary file is removed either way.</returns>
    public static bool TryPublish(string temporary, string target)
    {
        try
        {
            if (OperatingSystem.IsWindows())
            {
                // MoveFileEx without MOVEFILE_REPLACE_EXISTING fails atomically when the target exists.
                File.Move(temporary, target, overwrite: false);
                return true;
            }

            if (Link(temporary, target) == 0)
            {
                return true;
            }

            var error = Marshal.GetLastPInvokeError();
            return error == AlreadyExists
                ? false
                : throw new IOException($"cannot publish '{target}': {Marshal.GetPInvokeErrorMessage(error)}");
        }
        catch (IOException) when (OperatingSystem.IsWindows() && File.Exists(target))
        {
            return false;
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    [LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Link(string existing, string created);
}

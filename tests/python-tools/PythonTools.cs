using System.Reflection;

namespace Serverless.Tests.Support;

/// <summary>
/// moto_server, cfn-lint and a Python that imports cfnlint: from the repository's tool folder when the build
/// installed them there (tests/python-tools), else from PATH.
/// </summary>
internal static class PythonTools
{
    public static string MotoServer => Find(Folder, "moto_server", "moto_server");

    public static string CfnLint => Find(Folder, "cfn-lint", "cfn-lint");

    public static string Python => Find(Folder, "python", "python3");

    /// <summary>The folder the build records; empty when built without it.</summary>
    private static string Folder =>
        typeof(PythonTools).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().SingleOrDefault(a => a.Key == "PythonToolsFolder")?.Value ?? "";

    /// <returns>
    /// The tool's path in the virtual environment at <paramref name="folder"/> if an install there finished (its stamp:
    /// a failed one leaves a Python without the tools); else <paramref name="onPath"/>.
    /// </returns>
    internal static string Find(string folder, string tool, string onPath)
    {
        var installed = OperatingSystem.IsWindows()
            ? Path.Combine(folder, "Scripts", tool + ".exe")
            : Path.Combine(folder, "bin", tool);
        return folder.Length > 0 && File.Exists(Path.Combine(folder, "installed.txt")) && File.Exists(installed) ? installed : onPath;
    }
}

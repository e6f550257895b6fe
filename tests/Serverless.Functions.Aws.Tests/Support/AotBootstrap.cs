using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace Serverless.Functions.Aws.Tests.Support;

/// <summary>
/// The Native AOT bootstrap, published by the tests themselves (what <c>functions-aws/package.sh</c> publishes), so a
/// plain <c>dotnet test Serverless.sln</c> runs the binary Lambda runs. The first use in a test run publishes it
/// into this project's obj/aot-bootstrap/ (a few minutes), building where package.sh builds (the ignored
/// functions-aws/artifacts/&lt;rid&gt;/build-aot/); later runs reuse that
/// binary while the sources it is built from are unchanged (a hash of them is kept beside it). A publish that fails, or that reports a trim or AOT
/// warning functions-aws/Serverless.Functions.Aws/TrimWarnings.allowed does not list, fails the tests that need it.
/// </summary>
public static partial class AotBootstrap
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static string? _executable;

    /// <summary>The folders and files the binary is built from, relative to the repository root.</summary>
    private static readonly string[] Inputs =
    [
        "functions-aws/Serverless.Functions.Aws", "shared/Serverless.Inference", "shared/Serverless.Inference.AspNetCore",
        "Directory.Build.props", "Directory.Packages.props", "global.json", ".editorconfig",
    ];

    /// <summary>The published <c>bootstrap</c>, publishing it first when none matches the sources.</summary>
    public static async Task<string> GetAsync()
    {
        await Gate.WaitAsync();
        try
        {
            return _executable ??= await PublishAsync();
        }
        finally
        {
            Gate.Release();
        }
    }

    private static async Task<string> PublishAsync()
    {
        var root = Metadata("RepositoryRoot");
        var folder = Metadata("AotBootstrapFolder");
        var publish = Path.Combine(folder, "publish");
        var executable = Path.Combine(publish, "bootstrap");
        var stampFile = Path.Combine(folder, "inputs.sha256");
        var stamp = InputsHash(root);
        if (File.Exists(executable) && File.Exists(stampFile) && await File.ReadAllTextAsync(stampFile) == stamp)
        {
            return executable;
        }

        Directory.CreateDirectory(folder);
        File.Delete(stampFile);
        var rid = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 when OperatingSystem.IsLinux() => "linux-x64",
            Architecture.Arm64 when OperatingSystem.IsLinux() => "linux-arm64",
            _ => throw new PlatformNotSupportedException($"the Native AOT bootstrap is published for Linux x64 or arm64, not {RuntimeInformation.RuntimeIdentifier}"),
        };
        var start = new ProcessStartInfo(DotnetHost(), [
            "publish", Path.Combine(root, "functions-aws", "Serverless.Functions.Aws", "Serverless.Functions.Aws.csproj"),
            "-c", "Release", "-r", rid, "-p:PublishAot=true", "-o", publish, "--artifacts-path", Path.Combine(root, "functions-aws", "artifacts", rid, "build-aot"), "-nologo",
        ])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };

        // Set by the test host's own MSBuild; a nested build must find its SDK by itself.
        foreach (var name in new[] { "MSBuildExtensionsPath", "MSBUILD_EXE_PATH", "MSBuildSDKsPath", "MSBuildLoadMicrosoftTargetsReadOnly" })
        {
            start.Environment.Remove(name);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet publish did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var log = await output + await error;
        if (process.ExitCode != 0 || !File.Exists(executable))
        {
            throw new InvalidOperationException($"the Native AOT publish of the bootstrap failed (exit code {process.ExitCode}):{Environment.NewLine}{log}");
        }

        var unexpected = TrimWarnings(log).Except(AllowedTrimWarnings(root)).ToList();
        if (unexpected.Count > 0)
        {
            throw new InvalidOperationException(
                $"the Native AOT publish reported trim or AOT warnings that TrimWarnings.allowed does not list:{Environment.NewLine}{string.Join(Environment.NewLine, unexpected)}");
        }

        await File.WriteAllTextAsync(stampFile, stamp);
        return executable;
    }

    /// <summary>The trim and AOT warnings of a publish log, as "code member" (ILC: "warning IL3050: Member(Args): message").</summary>
    internal static IEnumerable<string> TrimWarnings(string log) =>
        TrimWarning().Matches(log).Select(match => $"{match.Groups[1].Value} {match.Groups[2].Value}").Distinct();

    private static HashSet<string> AllowedTrimWarnings(string root) =>
        [.. File.ReadLines(Path.Combine(root, "functions-aws", "Serverless.Functions.Aws", "TrimWarnings.allowed"))
            .Select(line => line.Trim())
            .Where(line => line.Length > 0 && !line.StartsWith('#'))];

    [GeneratedRegex(@"warning (IL[23]\d{3}): (.+?): ")]
    private static partial Regex TrimWarning();

    /// <summary>SHA-256 over the relative path and content of every source file the binary is built from.</summary>
    private static string InputsHash(string root)
    {
        var files = Inputs
            .Select(input => Path.Combine(root, input))
            .SelectMany(SourceFiles)
            .Select(file => Path.GetRelativePath(root, file).Replace('\\', '/'))
            .Order(StringComparer.Ordinal);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var file in files)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(file + "\n"));
            hash.AppendData(File.ReadAllBytes(Path.Combine(root, file)));
        }

        return Convert.ToHexString(hash.GetHashAndReset());
    }

    private static IEnumerable<string> SourceFiles(string path) =>
        Directory.Exists(path)
            ? Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories).Where(file => !IsBuildOutput(path, file))
            : File.Exists(path) ? [path] : [];

    private static bool IsBuildOutput(string project, string file) =>
        Path.GetRelativePath(project, file).Split(Path.DirectorySeparatorChar) is [var top, _, ..] && top is "bin" or "obj";

    private static string Metadata(string key) =>
        typeof(AotBootstrap).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().SingleOrDefault(a => a.Key == key)?.Value
        ?? throw new InvalidOperationException($"the test assembly has no {key} metadata (see the project file)");

    /// <summary>The dotnet host running these tests, so the publish uses the same SDK installation.</summary>
    private static string DotnetHost()
    {
        var candidate = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", "..", "dotnet"));
        return File.Exists(candidate) ? candidate : "dotnet";
    }
}

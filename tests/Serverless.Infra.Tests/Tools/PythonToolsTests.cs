using Serverless.Infra.Tests.Support;
using Serverless.Tests.Support;

namespace Serverless.Infra.Tests.Tools;

/// <summary>
/// How the tests find moto_server and cfn-lint (the build's tool folder first, then PATH), and what the build says
/// when neither has them and the package index cannot be reached (tests/python-tools/ensure.py).
/// </summary>
public sealed class PythonToolsTests : IDisposable
{
    private readonly TempFolder _folder = new("python-tools");

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Find_InstalledInTheToolFolder_ThatOneFirst()
    {
        var installed = Tool("cfn-lint");
        File.WriteAllText(_folder.Combine("installed.txt"), "cfn-lint==1.51.0\n");

        Assert.Equal(installed, PythonTools.Find(_folder.Path, "cfn-lint", "cfn-lint"));
    }

    [Fact]
    public void Find_InstallInTheToolFolderUnfinished_FromPath()
    {
        Tool("python");

        Assert.Equal("python3", PythonTools.Find(_folder.Path, "python", "python3"));
    }

    [Fact]
    public void Find_NotInTheToolFolder_FromPath()
    {
        Assert.Equal("cfn-lint", PythonTools.Find(_folder.Path, "cfn-lint", "cfn-lint"));
        Assert.Equal("python3", PythonTools.Find("", "python", "python3"));
    }

    [Fact]
    public async Task Ensure_NotOnPathAndIndexUnreachable_OneLineNamingTheToolsAndTheCommand()
    {
        // The interpreter itself, not a shim that needs PATH: the script must find neither tool on PATH.
        var which = await ProcessRunner.RunAsync("python3", ["-c", "import sys; print(sys.executable)"]);
        Assert.True(which.ExitCode == 0, which.ToString());
        var script = Path.Combine(InfraPaths.RepositoryRoot, "tests", "python-tools", "ensure.py");
        var requirements = _folder.Combine("tests", "python-tools", "requirements.txt");
        Directory.CreateDirectory(Path.GetDirectoryName(requirements)!);
        File.Copy(Path.Combine(InfraPaths.RepositoryRoot, "tests", "python-tools", "requirements.txt"), requirements);

        var result = await ProcessRunner.RunAsync(
            which.StandardOutput.Trim(),
            [script, _folder.Combine(".tools", "python"), requirements],
            workingDirectory: _folder.Path,
            environment: new Dictionary<string, string>
            {
                ["PATH"] = "",
                // Nothing listens on port 9 (discard): refused at once, as an unreachable index is.
                ["PIP_INDEX_URL"] = "http://127.0.0.1:9/simple",
                ["PIP_NO_CACHE_DIR"] = "1",
            },
            timeout: TimeSpan.FromMinutes(3));

        Assert.True(result.ExitCode == 1, result.ToString());
        var line = Assert.Single(result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("moto_server (moto 5.2.1), cfn-lint (cfn-lint 1.51.0): not on PATH", line, StringComparison.Ordinal);
        var bin = OperatingSystem.IsWindows() ? "Scripts" : "bin";
        Assert.EndsWith(
            $"install them with: python3 -m venv {Path.Combine(".tools", "python")} && {Path.Combine(".tools", "python", bin, "python")} -m pip install -r {Path.Combine("tests", "python-tools", "requirements.txt")}",
            line,
            StringComparison.Ordinal);
        Assert.False(File.Exists(_folder.Combine(".tools", "python", "installed.txt")));
    }

    private string Tool(string name)
    {
        var path = _folder.Combine(OperatingSystem.IsWindows() ? "Scripts" : "bin", OperatingSystem.IsWindows() ? name + ".exe" : name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "");
        return path;
    }
}

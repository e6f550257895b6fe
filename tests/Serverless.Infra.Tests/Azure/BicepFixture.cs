using System.Text.Json.Nodes;
using Serverless.Infra.Tests.Support;

namespace Serverless.Infra.Tests.Azure;

/// <summary>Compiles and lints main.bicep once for the class (each compiler call costs ~3 s).</summary>
public sealed class BicepFixture : IAsyncLifetime
{
    internal ProcessResult Build { get; private set; } = null!;

    internal ProcessResult Lint { get; private set; } = null!;

    internal JsonNode Template { get; private set; } = null!;

    internal string TemplateText { get; private set; } = "";

    public async Task InitializeAsync()
    {
        using var output = new TempFolder("bicep");
        var build = RunBicepAsync("build", InfraPaths.AzureMainTemplate, "--outdir", output.Path);
        var lint = RunBicepAsync("lint", InfraPaths.AzureMainTemplate);
        Build = await build;
        Lint = await lint;
        var compiled = output.Combine("main.json");
        TemplateText = File.Exists(compiled) ? await File.ReadAllTextAsync(compiled) : "{}";
        Template = JsonNode.Parse(TemplateText)!;
    }

    public Task DisposeAsync() => Task.CompletedTask;

    internal static Task<ProcessResult> RunBicepAsync(params string[] arguments)
    {
        EnsureExecutable(InfraPaths.Bicep);
        return ProcessRunner.RunAsync(InfraPaths.Bicep, arguments, InfraPaths.AzureFolder, timeout: TimeSpan.FromMinutes(2));
    }

    // Package extraction does not promise the execute bit on every platform's NuGet client.
    private static void EnsureExecutable(string path)
    {
        if (!OperatingSystem.IsWindows() && !File.GetUnixFileMode(path).HasFlag(UnixFileMode.UserExecute))
        {
            File.SetUnixFileMode(path, File.GetUnixFileMode(path) | UnixFileMode.UserExecute);
        }
    }

    /// <summary>Compiles a parameters file that uses main.bicep with the given lines; the file lives in a temp folder.</summary>
    internal static async Task<(ProcessResult Result, JsonNode? Parameters)> BuildParamsAsync(params string[] parameterLines)
    {
        using var folder = new TempFolder("bicepparam");
        var usingPath = Path.GetRelativePath(folder.Path, InfraPaths.AzureMainTemplate).Replace('\\', '/');
        var file = folder.Combine("test.bicepparam");
        await File.WriteAllLinesAsync(file, [$"using '{usingPath}'", .. parameterLines]);
        var outFile = folder.Combine("test.parameters.json");
        var result = await RunBicepAsync("build-params", file, "--outfile", outFile);
        return (result, File.Exists(outFile) ? JsonNode.Parse(await File.ReadAllTextAsync(outFile)) : null);
    }
}

/// <summary>One compilation of main.bicep for every class that asserts on it.</summary>
[CollectionDefinition(Name)]
public sealed class BicepCollection : ICollectionFixture<BicepFixture>
{
    public const string Name = "Bicep build";
}

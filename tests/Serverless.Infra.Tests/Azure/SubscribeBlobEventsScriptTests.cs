using Serverless.Infra.Tests.Support;

namespace Serverless.Infra.Tests.Azure;

/// <summary>
/// The post-deploy script against a stand-in <c>az</c> on PATH that answers like the CLI and records its calls:
/// the script's logic is tested here, the calls it makes are the documented az commands.
/// </summary>
public sealed class SubscribeBlobEventsScriptTests : IDisposable
{
    private const string AppName = "infer-func-abc123";
    private readonly TempFolder _bin = new("fake-az");

    public SubscribeBlobEventsScriptTests()
    {
        var fake = _bin.Combine("az");
        File.WriteAllText(fake, """
            #!/usr/bin/env bash
            echo "$*" >> "$FAKE_AZ_LOG"
            case "$1 $2 $3" in
              "deployment group show") echo "$FAKE_APP" ;;
              "functionapp keys list") echo "$FAKE_KEY" ;;
              "deployment group create") echo true ;;
              *) echo "unexpected az call: $*" >&2; exit 2 ;;
            esac
            """.ReplaceLineEndings("\n"));
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(fake, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    private string Log => _bin.Combine("calls.log");

    public void Dispose() => _bin.Dispose();

    [Fact]
    public async Task Script_KeyPresent_RedeploysWithTheSubscriptionStage()
    {
        var result = await RunAsync(key: "secret-system-key");

        Assert.True(result.ExitCode == 0, result.ToString());
        var calls = await File.ReadAllLinesAsync(Log);
        var create = Assert.Single(calls, c => c.StartsWith("deployment group create", StringComparison.Ordinal));
        Assert.Contains("--resource-group rg-test --name main --template-file main.bicep", create, StringComparison.Ordinal);
        Assert.Contains($"--parameters {Path.Combine(InfraPaths.AzureFolder, "main.bicepparam")} --parameters subscribeBlobEvents=true", create, StringComparison.Ordinal);
        // The key is read inside the deployment (listKeys), never passed on a command line.
        Assert.DoesNotContain("secret-system-key", create, StringComparison.Ordinal);
        Assert.Contains(calls, c => c.StartsWith($"functionapp keys list --resource-group rg-test --name {AppName}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Script_KeyNeverAppears_FailsWithoutDeploying()
    {
        var result = await RunAsync(key: "");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("blobs_extension system key", result.StandardError, StringComparison.Ordinal);
        Assert.Equal(2, File.ReadAllLines(Log).Count(c => c.StartsWith("functionapp keys list", StringComparison.Ordinal)));
        Assert.DoesNotContain(File.ReadAllLines(Log), c => c.StartsWith("deployment group create", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Script_NoFirstStageDeployment_FailsAskingForIt()
    {
        var result = await RunAsync(key: "k", app: "");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("deploy main.bicep first", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Template_NamesTheScriptUses_Exist()
    {
        var script = await File.ReadAllTextAsync(Path.Combine(InfraPaths.AzureFolder, "subscribe-blob-events.sh"));
        var template = await File.ReadAllTextAsync(InfraPaths.AzureMainTemplate);

        Assert.Contains("properties.outputs.functionAppName.value", script, StringComparison.Ordinal);
        Assert.Contains("output functionAppName string", template, StringComparison.Ordinal);
        Assert.Contains("properties.outputs.blobEventsSubscribed.value", script, StringComparison.Ordinal);
        Assert.Contains("output blobEventsSubscribed bool", template, StringComparison.Ordinal);
        Assert.Contains("param subscribeBlobEvents bool", template, StringComparison.Ordinal);
    }

    private Task<ProcessResult> RunAsync(string key, string app = AppName) =>
        ProcessRunner.RunAsync(
            "bash",
            [Path.Combine(InfraPaths.AzureFolder, "subscribe-blob-events.sh"), "rg-test"],
            workingDirectory: Path.GetTempPath(),
            environment: new Dictionary<string, string>
            {
                ["PATH"] = $"{_bin.Path}:{Environment.GetEnvironmentVariable("PATH")}",
                ["FAKE_AZ_LOG"] = Log,
                ["FAKE_APP"] = app,
                ["FAKE_KEY"] = key,
                ["KEY_WAIT_ATTEMPTS"] = "2",
                ["KEY_WAIT_SECONDS"] = "0",
            },
            timeout: TimeSpan.FromSeconds(30));
}

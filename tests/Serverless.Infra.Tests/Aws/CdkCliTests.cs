using System.Text.Json.Nodes;
using Serverless.Infra.Tests.Support;

namespace Serverless.Infra.Tests.Aws;

/// <summary>
/// The path a user takes: the npm CDK CLI (installed by this project's build) runs the C# app from infra/aws,
/// so cdk.json is read; the built app assembly replaces "dotnet run" to skip a rebuild.
/// </summary>
[Collection(CdkCollection.Name)]
public sealed class CdkCliTests(CdkSynthFixture cdk)
{
    [Fact]
    public async Task CdkSynth_PlaceholderBootstrap_WritesTheStackTemplate()
    {
        using var output = new TempFolder("cdk-cli");

        var result = await SynthAsync(output.Path, $"bootstrapPath={cdk.BootstrapFolder}");

        Assert.True(result.ExitCode == 0, result.ToString());
        var template = JsonNode.Parse(await File.ReadAllTextAsync(output.Combine("ServerlessInference.template.json")))!;
        Assert.Equal(2, CfnTemplate.OfType(template, "AWS::Lambda::Function").Count);
        Assert.Single(CfnTemplate.OfType(template, "AWS::ApiGatewayV2::Api"));
        // cdk.json's context (memory 2048 and 3008, timeouts 30 and 900, reserved 50 and 30, queues 5 and 20, sweep every 15 minutes) reached the app.
        var http = StackFunctions.Http(template);
        var batch = StackFunctions.Batch(template);
        Assert.Equal((2048, 30, 50), (http["MemorySize"]!.GetValue<int>(), http["Timeout"]!.GetValue<int>(), http["ReservedConcurrentExecutions"]!.GetValue<int>()));
        Assert.Equal((3008, 900, 30), (batch["MemorySize"]!.GetValue<int>(), batch["Timeout"]!.GetValue<int>(), batch["ReservedConcurrentExecutions"]!.GetValue<int>()));
        Assert.Equal(
            [5, 20],
            CfnTemplate.OfType(template, "AWS::Lambda::EventSourceMapping").Select(m => m.Resource["Properties"]!["ScalingConfig"]!["MaximumConcurrency"]!.GetValue<int>()).Order());
        Assert.Equal("rate(15 minutes)", CfnTemplate.Properties(template, "AWS::Events::Rule")["ScheduleExpression"]!.GetValue<string>());
    }

    [Fact]
    public async Task CdkSynth_MemoryBelowLambdaMinimum_FailsWithTheSettingNamed()
    {
        using var output = new TempFolder("cdk-cli-bad");

        var result = await SynthAsync(output.Path, $"bootstrapPath={cdk.BootstrapFolder}", "memorySize=64");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("Invalid deployment setting: memorySize (MiB) must be between 128 and 10240", result.Output, StringComparison.Ordinal);
        Assert.False(File.Exists(output.Combine("ServerlessInference.template.json")));
    }

    private static Task<ProcessResult> SynthAsync(string outputFolder, params string[] context) =>
        ProcessRunner.RunAsync(
            "node",
            [InfraPaths.CdkCli, "synth", "--app", $"dotnet \"{InfraPaths.CdkAppAssembly}\"", "--output", outputFolder, "--quiet",
                .. context.SelectMany(c => new[] { "--context", c })],
            InfraPaths.AwsFolder,
            new Dictionary<string, string> { ["AWS_EC2_METADATA_DISABLED"] = "true", ["CDK_DISABLE_VERSION_CHECK"] = "1" },
            TimeSpan.FromMinutes(3));
}

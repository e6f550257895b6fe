using Serverless.Infra.Tests.Support;
using Serverless.Tests.Support;

namespace Serverless.Infra.Tests.Aws;

/// <summary>
/// cfn-lint (on PATH, or installed by the build: tests/python-tools) on the three synthesized templates. The bar is exit code 0:
/// no error and no warning, with one check ignored: W3005 (a DependsOn already implied by a GetAtt), which
/// CDK itself emits for every function's role policy and which CloudFormation treats as a no-op.
/// </summary>
[Collection(CdkCollection.Name)]
public sealed class CfnLintTests(CdkSynthFixture cdk)
{
    [Fact]
    public async Task CfnLint_DefaultTemplate_ReportsNothing()
    {
        var result = await LintAsync(cdk.DefaultsPath);

        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Fact]
    public async Task CfnLint_VariantTemplate_ReportsNothing()
    {
        var result = await LintAsync(cdk.VariantPath);

        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Fact]
    public async Task CfnLint_StreamingTemplate_ReportsNothing()
    {
        var result = await LintAsync(cdk.StreamingPath);

        Assert.True(result.ExitCode == 0, result.ToString());
    }

    private static Task<ProcessResult> LintAsync(string template) =>
        ProcessRunner.RunAsync(PythonTools.CfnLint, ["--ignore-checks", "W3005", "--", template], timeout: TimeSpan.FromMinutes(2));
}

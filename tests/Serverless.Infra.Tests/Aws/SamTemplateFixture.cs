using System.Text.Json.Nodes;
using Serverless.Infra.Tests.Support;
using Serverless.Tests.Support;

namespace Serverless.Infra.Tests.Aws;

/// <summary>
/// functions-aws/template.yaml as CloudFormation receives it: parsed (short-form intrinsics included) and expanded by
/// the SAM translator, through cfn-lint's own Python API, which is what `cfn-lint` runs before its checks. No YAML
/// library in the tests, and the assertions see the generated role, rule, stage and mapping, not the SAM shorthand.
/// </summary>
public sealed class SamTemplateFixture : IAsyncLifetime
{
    private const string Translate = """
        import json, sys
        import cfnlint.decode
        from cfnlint.template import Template
        path = sys.argv[1]
        template, errors = cfnlint.decode.decode(path)
        if errors:
            sys.exit("could not parse %s: %s" % (path, errors))
        cfn = Template(path, template, ["us-east-1"])
        errors = cfn.transform()
        if errors:
            sys.exit("SAM transform failed: %s" % errors)
        json.dump(cfn.template, sys.stdout)
        """;

    internal static string TemplatePath { get; } = Path.Combine(InfraPaths.RepositoryRoot, "functions-aws", "template.yaml");

    internal JsonNode Template { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var result = await ProcessRunner.RunAsync(PythonTools.Python, ["-c", Translate, TemplatePath], timeout: TimeSpan.FromMinutes(2));
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"Translating {TemplatePath} needs a Python with cfn-lint ({PythonTools.Python}): {result}");
        }

        Template = JsonNode.Parse(result.StandardOutput)!;
    }

    public Task DisposeAsync() => Task.CompletedTask;
}

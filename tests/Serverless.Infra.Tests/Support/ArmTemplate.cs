using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Serverless.Infra.Tests.Support;

/// <summary>A resource of a compiled ARM template, with the nested deployment (Bicep module) it sits in.</summary>
internal sealed record ArmResource(string Module, string? SymbolicName, JsonObject Json, JsonNode Template)
{
    public string Type => Json["type"]!.GetValue<string>();

    public JsonNode? Properties => Json["properties"];

    public string? Condition => Json["condition"]?.ToString();

    public string? Scope => Json["scope"]?.ToString();

    /// <summary>A variable of the template (module) this resource is declared in.</summary>
    public JsonNode? Variable(string name) => Template["variables"]?[name];
}

/// <summary>Walks the compiled JSON: modules are nested <c>Microsoft.Resources/deployments</c> with inner templates.</summary>
internal static class ArmTemplate
{
    public static IReadOnlyList<ArmResource> AllResources(JsonNode template) => [.. Walk(template, "main")];

    public static IReadOnlyList<ArmResource> OfType(JsonNode template, string type) =>
        [.. AllResources(template).Where(r => string.Equals(r.Type, type, StringComparison.OrdinalIgnoreCase))];

    public static ArmResource Single(JsonNode template, string type) => OfType(template, type) switch
    {
        [var only] => only,
        var many => throw new InvalidOperationException($"Expected one {type}, found {many.Count}."),
    };

    public static JsonObject Module(JsonNode template, string name) =>
        AllResources(template).Single(r => r.Type == "Microsoft.Resources/deployments" && r.Json["name"]?.ToString() == name).Json;

    private static IEnumerable<ArmResource> Walk(JsonNode template, string module)
    {
        // languageVersion 2.0 templates hold resources in an object keyed by symbolic name.
        var resources = template["resources"] switch
        {
            JsonArray array => array.Select(r => (Name: (string?)null, Json: r!.AsObject())),
            JsonObject map => map.Select(pair => (Name: (string?)pair.Key, Json: pair.Value!.AsObject())),
            _ => [],
        };

        foreach (var (name, json) in resources)
        {
            yield return new ArmResource(module, name, json, template);
            if (json["type"]?.ToString() == "Microsoft.Resources/deployments" && json["properties"]?["template"] is { } inner)
            {
                foreach (var nested in Walk(inner, json["name"]!.ToString()))
                {
                    yield return nested;
                }
            }
        }
    }
}

/// <summary>Resolves the expressions Bicep compiles module wiring into, back to the names and modules they came from.</summary>
internal static partial class ArmExpression
{
    /// <summary>"[variables('x')]" → the value of main.bicep's variable x; any other expression unchanged.</summary>
    public static string MainVariable(JsonNode template, string expression) =>
        expression.StartsWith("[variables('", StringComparison.Ordinal) && expression.EndsWith("')]", StringComparison.Ordinal)
            ? template["variables"]![expression["[variables('".Length..^"')]".Length]]!.GetValue<string>()
            : expression;

    /// <summary>The expression main.bicep passes to a module's parameter.</summary>
    public static string ModuleParameter(JsonNode template, string module, string parameter) =>
        ArmTemplate.Module(template, module)["properties"]!["parameters"]![parameter]!["value"]!.ToString();

    /// <summary>"[parameters('p')]" inside a module → the main variable (or expression) the module was given for p.</summary>
    public static string ModuleParameterValue(JsonNode template, string module, string expression)
    {
        var match = ParameterReference().Match(expression);
        return match.Success ? MainVariable(template, ModuleParameter(template, module, match.Groups["name"].Value)) : expression;
    }

    /// <summary>"[reference(resourceId('Microsoft.Resources/deployments', 'host-storage'), '…').outputs.name.value]" → ("host-storage", "name").</summary>
    public static (string Module, string Output)? ModuleOutput(string expression) =>
        ModuleOutputReference().Match(expression) is { Success: true } match ? (match.Groups["module"].Value, match.Groups["output"].Value) : null;

    [GeneratedRegex(@"^\[parameters\('(?<name>[^']+)'\)\]$")]
    private static partial Regex ParameterReference();

    [GeneratedRegex(@"reference\(resourceId\('Microsoft\.Resources/deployments', '(?<module>[^']+)'\), '[^']+'\)\.outputs\.(?<output>\w+)\.value")]
    private static partial Regex ModuleOutputReference();
}

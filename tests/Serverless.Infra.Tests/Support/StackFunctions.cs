using System.Text.Json.Nodes;

namespace Serverless.Infra.Tests.Support;

/// <summary>The two functions of the synthesized CDK stack (the same bootstrap deployed twice, three times with streaming), and their roles' statements.</summary>
internal static class StackFunctions
{
    /// <summary>Logical ids of the HTTP function's resources start with its construct id.</summary>
    public const string HttpPrefix = "InferenceFunction";

    public const string BatchPrefix = "BatchFunction";

    /// <summary>The stream function, deployed only with a stream model.</summary>
    public const string StreamPrefix = "StreamFunction";

    public static string HttpId(JsonNode template) => Id(template, HttpPrefix);

    public static string BatchId(JsonNode template) => Id(template, BatchPrefix);

    public static string StreamId(JsonNode template) => Id(template, StreamPrefix);

    public static JsonNode Stream(JsonNode template) => template["Resources"]![StreamId(template)]!["Properties"]!;

    public static JsonNode Http(JsonNode template) => template["Resources"]![HttpId(template)]!["Properties"]!;

    public static JsonNode Batch(JsonNode template) => template["Resources"]![BatchId(template)]!["Properties"]!;

    /// <summary>Every statement of every inline policy attached to the function's role.</summary>
    public static List<JsonNode> Statements(JsonNode template, string functionId)
    {
        var role = CfnTemplate.Target(template["Resources"]![functionId]!["Properties"]!["Role"])!;
        return [.. CfnTemplate.OfType(template, "AWS::IAM::Policy")
            .Where(p => p.Resource["Properties"]!["Roles"]!.AsArray().Any(r => CfnTemplate.Target(r) == role))
            .SelectMany(p => p.Resource["Properties"]!["PolicyDocument"]!["Statement"]!.AsArray().Select(s => s!))];
    }

    public static bool Acts(JsonNode statement, string servicePrefix) =>
        CfnTemplate.Strings(statement["Action"]).Any(a => a.StartsWith(servicePrefix, StringComparison.Ordinal));

    private static string Id(JsonNode template, string prefix) =>
        CfnTemplate.OfType(template, "AWS::Lambda::Function").Single(f => f.LogicalId.StartsWith(prefix, StringComparison.Ordinal)).LogicalId;
}

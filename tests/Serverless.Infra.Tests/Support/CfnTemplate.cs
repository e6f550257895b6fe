using System.Text.Json.Nodes;

namespace Serverless.Infra.Tests.Support;

/// <summary>Queries on a synthesized CloudFormation template.</summary>
internal static class CfnTemplate
{
    public static IReadOnlyList<(string LogicalId, JsonObject Resource)> OfType(JsonNode template, string type) =>
        [.. template["Resources"]!.AsObject()
            .Where(pair => pair.Value!["Type"]!.GetValue<string>() == type)
            .Select(pair => (pair.Key, pair.Value!.AsObject()))];

    public static (string LogicalId, JsonObject Resource) Single(JsonNode template, string type) => OfType(template, type) switch
    {
        [var only] => only,
        var many => throw new InvalidOperationException($"Expected one {type}, found {many.Count}."),
    };

    public static JsonNode Properties(JsonNode template, string type) => Single(template, type).Resource["Properties"]!;

    /// <summary>The logical id a <c>{"Ref": id}</c> or <c>{"Fn::GetAtt": [id, attr]}</c> points at.</summary>
    public static string? Target(JsonNode? reference) => reference switch
    {
        JsonObject o when o["Ref"] is { } r => r.GetValue<string>(),
        JsonObject o when o["Fn::GetAtt"] is JsonArray a => a[0]!.GetValue<string>(),
        _ => null,
    };

    public static IEnumerable<string> Strings(JsonNode? node) => node switch
    {
        JsonArray array => array.Select(n => n!.GetValue<string>()),
        JsonValue value => [value.GetValue<string>()],
        _ => [],
    };

    /// <summary>"arn-of-bucket/models/*" from {"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, "/models/*"]]}; "bucket" for the bare ARN.</summary>
    public static string BucketResource(JsonNode resource) => resource switch
    {
        JsonObject o when o["Fn::Join"] is JsonArray join => "bucket" + join[1]!.AsArray()[1]!.GetValue<string>(),
        JsonObject o when o["Fn::GetAtt"] is not null => "bucket",
        _ => resource.ToJsonString(),
    };

    /// <summary>"bucket/models/*" from {"Fn::Sub": "arn:${AWS::Partition}:s3:::${BucketName}/models/*"} (the SAM template's form); "bucket" for the bucket.</summary>
    public static string SamBucketResource(JsonNode resource)
    {
        const string BucketArn = "arn:${AWS::Partition}:s3:::${BucketName}";
        return resource is JsonObject o && o["Fn::Sub"] is JsonValue sub && sub.GetValue<string>() is var text && text.StartsWith(BucketArn, StringComparison.Ordinal)
            ? "bucket" + text[BucketArn.Length..]
            : resource.ToJsonString();
    }
}

using System.Text.Json.Nodes;
using Serverless.Functions.Aws;

namespace Serverless.Infra.Tests.Support;

/// <summary>
/// The S3 grants both AWS templates must give each function (CDK stack and SAM template alike), as (Sid, action,
/// resource) with the bucket written "bucket" and its keys "bucket/prefix*".
/// </summary>
internal static class S3Grants
{
    /// <summary>The batch function: the runner's reads, writes, moves, cleanup of a sharded run and its merge's aborts.</summary>
    public static HashSet<(string Sid, string Action, string Resource)> Batch { get; } =
    [
        ("ReadContractPrefixes", "s3:GetObject", Keys(LambdaContract.ModelsPrefix)),
        ("ReadContractPrefixes", "s3:GetObject", Keys(LambdaContract.IncomingPrefix)),
        ("ReadContractPrefixes", "s3:GetObject", Keys(LambdaContract.OutgoingPrefix)),
        ("ReadContractPrefixes", "s3:GetObject", Keys(LambdaContract.FailedPrefix)),
        ("WriteResultsAndFailures", "s3:PutObject", Keys(LambdaContract.OutgoingPrefix)),
        ("WriteResultsAndFailures", "s3:PutObject", Keys(LambdaContract.FailedPrefix)),
        ("DeleteMovedInputs", "s3:DeleteObject", Keys(LambdaContract.IncomingPrefix)),
        ("DeleteRunFiles", "s3:DeleteObject", Keys(LambdaContract.OutgoingPrefix)),
        ("AbortMergeUploads", "s3:AbortMultipartUpload", Keys(LambdaContract.OutgoingPrefix)),
        ("ListContractPrefixes", "s3:ListBucket", "bucket"),
        ("WriteCapture", "s3:PutObject", Keys(LambdaContract.CapturePrefix)),
    ];

    /// <summary>The HTTP function: models only, and create-only prediction capture (never read, listed or deleted).</summary>
    public static HashSet<(string Sid, string Action, string Resource)> Http { get; } =
    [
        ("ReadModels", "s3:GetObject", Keys(LambdaContract.ModelsPrefix)),
        ("ListModels", "s3:ListBucket", "bucket"),
        ("WriteCapture", "s3:PutObject", Keys(LambdaContract.CapturePrefix)),
    ];

    /// <summary>The stream function: models read, and its own two prefixes read, created, deleted; nothing of the batch layout.</summary>
    public static HashSet<(string Sid, string Action, string Resource)> Stream { get; } =
    [
        ("ReadModels", "s3:GetObject", Keys(LambdaContract.ModelsPrefix)),
        ("ReadWriteStreamObjects", "s3:GetObject", Keys(LambdaContract.PredictionsPrefix)),
        ("ReadWriteStreamObjects", "s3:GetObject", Keys(LambdaContract.StreamStatePrefix)),
        ("ReadWriteStreamObjects", "s3:PutObject", Keys(LambdaContract.PredictionsPrefix)),
        ("ReadWriteStreamObjects", "s3:PutObject", Keys(LambdaContract.StreamStatePrefix)),
        ("ReadWriteStreamObjects", "s3:DeleteObject", Keys(LambdaContract.PredictionsPrefix)),
        ("ReadWriteStreamObjects", "s3:DeleteObject", Keys(LambdaContract.StreamStatePrefix)),
        ("ListStreamPrefixes", "s3:ListBucket", "bucket"),
    ];

    public static HashSet<string> StreamListedPrefixes { get; } =
        [LambdaContract.ModelsPrefix + "*", LambdaContract.PredictionsPrefix + "*", LambdaContract.StreamStatePrefix + "*"];

    /// <summary>
    /// Listing is limited to the four prefixes: the models' folders and the sweep's listing of incoming/, and outgoing/
    /// and failed/ because S3 answers a HEAD of a missing key there with 404 only if the caller may list that prefix.
    /// </summary>
    public static HashSet<string> ListedPrefixes { get; } =
        [LambdaContract.ModelsPrefix + "*", LambdaContract.IncomingPrefix + "*", LambdaContract.OutgoingPrefix + "*", LambdaContract.FailedPrefix + "*"];

    /// <summary>Every (Sid, action, resource) the statements allow; throws on a Deny or a statement without a Sid.</summary>
    public static HashSet<(string Sid, string Action, string Resource)> Of(IEnumerable<JsonNode> statements, Func<JsonNode, string> resource) =>
    [
        .. statements.SelectMany(statement =>
        {
            if (statement["Effect"]!.GetValue<string>() != "Allow")
            {
                throw new InvalidOperationException($"Unexpected statement: {statement.ToJsonString()}");
            }

            var sid = statement["Sid"]?.GetValue<string>() ?? "(none)";
            var resources = statement["Resource"] is JsonArray many ? many.Select(r => r!) : [statement["Resource"]!];
            return CfnTemplate.Strings(statement["Action"]).SelectMany(action => resources.Select(r => (sid, action, resource(r))));
        }),
    ];

    /// <summary>The s3:prefix values of the ListBucket statement, which must carry that one condition and nothing else.</summary>
    public static HashSet<string> ListCondition(IEnumerable<JsonNode> statements)
    {
        var list = statements.Single(s => CfnTemplate.Strings(s["Action"]).Contains("s3:ListBucket"));
        var condition = list["Condition"]!.AsObject();
        var stringLike = Assert.Single(condition);
        Assert.Equal("StringLike", stringLike.Key);
        var prefix = Assert.Single(stringLike.Value!.AsObject());
        Assert.Equal("s3:prefix", prefix.Key);
        return [.. CfnTemplate.Strings(prefix.Value)];
    }

    private static string Keys(string prefix) => $"bucket/{prefix}*";
}

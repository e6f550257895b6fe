using System.Text.Json.Nodes;
using Serverless.Functions.Aws;
using Serverless.Infra.Tests.Support;

namespace Serverless.Infra.Tests.Aws;

/// <summary>The streaming part of the stack: deployed only with a stream model, read with least privilege.</summary>
[Collection(CdkCollection.Name)]
public sealed class CdkStreamTests(CdkSynthFixture cdk)
{
    [Fact]
    public void Defaults_NoStreamModel_NoStreamNoThirdFunction()
    {
        Assert.Empty(CfnTemplate.OfType(cdk.DefaultsJson, "AWS::Kinesis::Stream"));
        Assert.DoesNotContain(CfnTemplate.OfType(cdk.DefaultsJson, "AWS::Lambda::Function"), f => f.LogicalId.StartsWith(StackFunctions.StreamPrefix, StringComparison.Ordinal));
    }

    [Fact]
    public void Stream_Kinesis_EncryptedOnDemandRetainedADay()
    {
        var stream = CfnTemplate.Properties(cdk.StreamingJson, "AWS::Kinesis::Stream");

        Assert.Equal("KMS", stream["StreamEncryption"]!["EncryptionType"]!.GetValue<string>());
        Assert.Equal("alias/aws/kinesis", stream["StreamEncryption"]!["KeyId"]!.GetValue<string>());
        Assert.Equal("ON_DEMAND", stream["StreamModeDetails"]!["StreamMode"]!.GetValue<string>());
        Assert.Null(stream["ShardCount"]);
        Assert.Equal(24, stream["RetentionPeriodHours"]!.GetValue<int>());
    }

    [Fact]
    public void Function_ThirdDeploymentOfTheBootstrap_ShortTimeoutOwnConcurrencyAndStreamVariables()
    {
        var stream = StackFunctions.Stream(cdk.StreamingJson);
        var variables = stream["Environment"]!["Variables"]!.AsObject();

        Assert.Equal(3, CfnTemplate.OfType(cdk.StreamingJson, "AWS::Lambda::Function").Count);
        Assert.Equal(StackFunctions.Http(cdk.StreamingJson)["Code"]!.ToJsonString(), stream["Code"]!.ToJsonString());
        Assert.Equal(LambdaContract.BootstrapName, stream["Handler"]!.GetValue<string>());
        Assert.Equal((1024, 60, 10), (stream["MemorySize"]!.GetValue<int>(), stream["Timeout"]!.GetValue<int>(), stream["ReservedConcurrentExecutions"]!.GetValue<int>()));
        Assert.Equal(
            [LambdaContract.AlertQueueUrlVariable, LambdaContract.BucketVariable, LambdaContract.StreamModelVariable],
            variables.Select(v => v.Key).Order(StringComparer.Ordinal));
        Assert.Equal("iris", variables[LambdaContract.StreamModelVariable]!.GetValue<string>());
        Assert.Equal(AlertQueueId(cdk.StreamingJson), CfnTemplate.Target(variables[LambdaContract.AlertQueueUrlVariable]));
        // The other two deployments know nothing of the stream.
        Assert.All([StackFunctions.Http(cdk.StreamingJson), StackFunctions.Batch(cdk.StreamingJson)], f =>
            Assert.Null(f["Environment"]!["Variables"]![LambdaContract.StreamModelVariable]));
    }

    [Fact]
    public void Mapping_Kinesis_PartialFailuresBisectOrderedWithAnOnFailureQueue()
    {
        var mapping = CfnTemplate.OfType(cdk.StreamingJson, "AWS::Lambda::EventSourceMapping")
            .Select(m => m.Resource["Properties"]!)
            .Single(m => CfnTemplate.Target(m["FunctionName"]) == StackFunctions.StreamId(cdk.StreamingJson));

        Assert.Equal(StreamId(cdk.StreamingJson), CfnTemplate.Target(mapping["EventSourceArn"]));
        Assert.Equal(["ReportBatchItemFailures"], CfnTemplate.Strings(mapping["FunctionResponseTypes"]));
        Assert.True(mapping["BisectBatchOnFunctionError"]!.GetValue<bool>());
        Assert.Equal(1, mapping["ParallelizationFactor"]!.GetValue<int>());
        Assert.Equal("TRIM_HORIZON", mapping["StartingPosition"]!.GetValue<string>());
        Assert.Equal(100, mapping["BatchSize"]!.GetValue<int>());
        Assert.Equal(1, mapping["MaximumBatchingWindowInSeconds"]!.GetValue<int>());
        Assert.Equal(3600, mapping["MaximumRecordAgeInSeconds"]!.GetValue<int>());
        Assert.Equal(10, mapping["MaximumRetryAttempts"]!.GetValue<int>());
        Assert.Equal(FailedBatchesQueueId(cdk.StreamingJson), CfnTemplate.Target(mapping["DestinationConfig"]!["OnFailure"]!["Destination"]));
        // The queues still feed only the batch function.
        Assert.Equal(3, CfnTemplate.OfType(cdk.StreamingJson, "AWS::Lambda::EventSourceMapping").Count);
    }

    [Fact]
    public void Queues_AlertsAndFailedBatches_EncryptedAlertsRedriveToTheirDeadLetters()
    {
        var alerts = Queue(cdk.StreamingJson, AlertQueueId(cdk.StreamingJson));
        var alertDeadLetters = Queue(cdk.StreamingJson, CfnTemplate.Target(alerts["RedrivePolicy"]!["deadLetterTargetArn"])!);
        var failedBatches = Queue(cdk.StreamingJson, FailedBatchesQueueId(cdk.StreamingJson));

        Assert.Equal(7, CfnTemplate.OfType(cdk.StreamingJson, "AWS::SQS::Queue").Count);
        Assert.Equal(5, alerts["RedrivePolicy"]!["maxReceiveCount"]!.GetValue<int>());
        Assert.All([alerts, alertDeadLetters, failedBatches], q => Assert.True(q["SqsManagedSseEnabled"]!.GetValue<bool>()));
        Assert.All([alertDeadLetters, failedBatches], q => Assert.Equal(14 * 24 * 3600, q["MessageRetentionPeriod"]!.GetValue<int>()));
    }

    [Fact]
    public void Grants_StreamFunction_S3OnlyModelsPredictionsAndStreamState()
    {
        var statements = StackFunctions.Statements(cdk.StreamingJson, StackFunctions.StreamId(cdk.StreamingJson)).Where(s => StackFunctions.Acts(s, "s3:")).ToList();

        Assert.Equal(S3Grants.Stream, S3Grants.Of(statements, CfnTemplate.BucketResource));
        Assert.Equal(S3Grants.StreamListedPrefixes, S3Grants.ListCondition(statements));
    }

    [Fact]
    public void Grants_StreamFunction_ReadsOnlyItsStreamSendsOnlyAlertsAndFailedBatches()
    {
        var statements = StackFunctions.Statements(cdk.StreamingJson, StackFunctions.StreamId(cdk.StreamingJson));
        var kinesis = statements.Where(s => StackFunctions.Acts(s, "kinesis:")).ToList();
        var sqs = statements.Where(s => StackFunctions.Acts(s, "sqs:")).ToList();

        Assert.NotEmpty(kinesis);
        Assert.All(kinesis, s => Assert.Equal([StreamId(cdk.StreamingJson)], Resources(s)));
        Assert.Contains(kinesis, s => CfnTemplate.Strings(s["Action"]).Contains("kinesis:GetRecords"));
        Assert.DoesNotContain(kinesis, s => CfnTemplate.Strings(s["Action"]).Any(a => a.StartsWith("kinesis:Put", StringComparison.Ordinal)));
        Assert.Equal(
            new HashSet<string> { AlertQueueId(cdk.StreamingJson), FailedBatchesQueueId(cdk.StreamingJson) },
            sqs.Where(s => CfnTemplate.Strings(s["Action"]).Contains("sqs:SendMessage")).SelectMany(Resources).ToHashSet());
        Assert.DoesNotContain(sqs, s => CfnTemplate.Strings(s["Action"]).Contains("sqs:ReceiveMessage"));
        Assert.All(statements, s => Assert.True(
            StackFunctions.Acts(s, "s3:") || StackFunctions.Acts(s, "kinesis:") || StackFunctions.Acts(s, "sqs:") || StackFunctions.Acts(s, "xray:"), s.ToJsonString()));
        Assert.DoesNotContain(statements, s => CfnTemplate.Strings(s["Action"]).Any(a => a.EndsWith(":*", StringComparison.Ordinal)));
    }

    [Fact]
    public void Grants_HttpAndBatchFunctions_NothingOfTheStream()
    {
        foreach (var id in new[] { StackFunctions.HttpId(cdk.StreamingJson), StackFunctions.BatchId(cdk.StreamingJson) })
        {
            var statements = StackFunctions.Statements(cdk.StreamingJson, id);
            Assert.DoesNotContain(statements, s => StackFunctions.Acts(s, "kinesis:"));
            Assert.DoesNotContain(statements.SelectMany(Resources), r => r == AlertQueueId(cdk.StreamingJson) || r == FailedBatchesQueueId(cdk.StreamingJson));
            Assert.DoesNotContain(statements.SelectMany(s => S3Grants.Of([s], CfnTemplate.BucketResource)), g =>
                g.Resource.Contains(LambdaContract.PredictionsPrefix, StringComparison.Ordinal) || g.Resource.Contains(LambdaContract.StreamStatePrefix, StringComparison.Ordinal));
        }
    }

    private static IEnumerable<string> Resources(JsonNode statement) =>
        statement["Resource"] is JsonArray many ? many.Select(r => CfnTemplate.Target(r) ?? r!.ToJsonString()) : [CfnTemplate.Target(statement["Resource"]) ?? statement["Resource"]!.ToJsonString()];

    private static string StreamId(JsonNode template) => CfnTemplate.Single(template, "AWS::Kinesis::Stream").LogicalId;

    /// <summary>The queue whose URL the stream function is given.</summary>
    private static string AlertQueueId(JsonNode template) =>
        CfnTemplate.Target(StackFunctions.Stream(template)["Environment"]!["Variables"]![LambdaContract.AlertQueueUrlVariable])!;

    private static string FailedBatchesQueueId(JsonNode template) =>
        CfnTemplate.OfType(template, "AWS::SQS::Queue").Single(q => q.LogicalId.StartsWith("StreamKinesisFailedBatches", StringComparison.Ordinal)).LogicalId;

    private static JsonNode Queue(JsonNode template, string logicalId) => template["Resources"]![logicalId]!["Properties"]!;
}

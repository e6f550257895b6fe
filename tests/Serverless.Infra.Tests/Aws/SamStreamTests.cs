using System.Text.Json.Nodes;
using Serverless.Functions.Aws;
using Serverless.Infra.Tests.Support;

namespace Serverless.Infra.Tests.Aws;

/// <summary>The streaming part of functions-aws/template.yaml after the SAM transform: the same choices and grants as the CDK stack.</summary>
public sealed class SamStreamTests(SamTemplateFixture sam) : IClassFixture<SamTemplateFixture>
{
    private static readonly string[] StreamResources =
        ["AlertDeadLetterQueue", "AlertQueue", "RecordStream", "StreamFailedBatchesQueue", "StreamFunction", "StreamFunctionRole", "StreamMapping"];

    [Fact]
    public void Streaming_EveryResource_OnlyWithAStreamModel()
    {
        var resources = sam.Template["Resources"]!.AsObject();
        var compared = sam.Template["Conditions"]!["StreamingEnabled"]!["Fn::Not"]![0]!["Fn::Equals"]!.AsArray().Select(n => n!.ToJsonString());

        Assert.All(StreamResources, id => Assert.Equal("StreamingEnabled", resources[id]!["Condition"]!.GetValue<string>()));
        Assert.Equal(["\"\"", """{"Ref":"StreamModel"}"""], compared.Order(StringComparer.Ordinal));
        Assert.Equal("", sam.Template["Parameters"]!["StreamModel"]!["Default"]!.GetValue<string>());
    }

    [Fact]
    public void Stream_Kinesis_EncryptedWithTheManagedKeyOnDemandUnlessShardsAreSet()
    {
        var stream = Resource("RecordStream");

        Assert.Equal("KMS", stream["StreamEncryption"]!["EncryptionType"]!.GetValue<string>());
        Assert.Equal("alias/aws/kinesis", stream["StreamEncryption"]!["KeyId"]!.GetValue<string>());
        Assert.Equal("""{"Fn::If":["StreamOnDemand","ON_DEMAND","PROVISIONED"]}""", stream["StreamModeDetails"]!["StreamMode"]!.ToJsonString());
        Assert.Equal(0, sam.Template["Parameters"]!["StreamShardCount"]!["Default"]!.GetValue<int>());
    }

    [Fact]
    public void Mapping_Kinesis_PartialFailuresBisectOrderedWithAnOnFailureQueue()
    {
        var mapping = Resource("StreamMapping");

        Assert.Equal("RecordStream", CfnTemplate.Target(mapping["EventSourceArn"]));
        Assert.Equal("StreamFunction", CfnTemplate.Target(mapping["FunctionName"]));
        Assert.Equal(["ReportBatchItemFailures"], CfnTemplate.Strings(mapping["FunctionResponseTypes"]));
        Assert.True(mapping["BisectBatchOnFunctionError"]!.GetValue<bool>());
        Assert.Equal(1, mapping["ParallelizationFactor"]!.GetValue<int>());
        Assert.Equal(10, mapping["MaximumRetryAttempts"]!.GetValue<int>());
        Assert.Equal(3600, mapping["MaximumRecordAgeInSeconds"]!.GetValue<int>());
        Assert.Equal("StreamBatchSize", CfnTemplate.Target(mapping["BatchSize"]));
        Assert.Equal("StreamFailedBatchesQueue", CfnTemplate.Target(mapping["DestinationConfig"]!["OnFailure"]!["Destination"]));
    }

    [Fact]
    public void Function_Variables_StreamModelAndAlertQueue()
    {
        var function = Resource("StreamFunction");
        var variables = function["Environment"]!["Variables"]!;

        Assert.Equal("StreamModel", CfnTemplate.Target(variables[LambdaContract.StreamModelVariable]));
        Assert.Equal("StreamModelVersion", CfnTemplate.Target(variables[LambdaContract.StreamModelVersionVariable]));
        Assert.Equal("AlertQueue", CfnTemplate.Target(variables[LambdaContract.AlertQueueUrlVariable]));
        Assert.Equal("StreamReservedConcurrency", CfnTemplate.Target(function["ReservedConcurrentExecutions"]));
        Assert.Equal(60, function["Timeout"]!.GetValue<int>());
        Assert.Equal("AlertDeadLetterQueue", CfnTemplate.Target(Resource("AlertQueue")["RedrivePolicy"]!["deadLetterTargetArn"]));
        Assert.All(["AlertQueue", "AlertDeadLetterQueue", "StreamFailedBatchesQueue"], q => Assert.True(Resource(q)["SqsManagedSseEnabled"]!.GetValue<bool>()));
    }

    [Fact]
    public void Grants_StreamFunctionRole_TheCdkStacksS3StatementsOneStreamTwoQueuesNoManagedReadAll()
    {
        var role = sam.Template["Resources"]!["StreamFunctionRole"]!["Properties"]!;
        var statements = role["Policies"]!.AsArray().SelectMany(p => p!["PolicyDocument"]!["Statement"]!.AsArray().Select(s => s!)).ToList();
        var kinesis = Assert.Single(statements, s => StackFunctions.Acts(s, "kinesis:"));
        var sqs = Assert.Single(statements, s => StackFunctions.Acts(s, "sqs:"));

        Assert.Equal(S3Grants.Stream, S3Grants.Of(statements.Where(s => StackFunctions.Acts(s, "s3:")), CfnTemplate.SamBucketResource));
        Assert.Equal(S3Grants.StreamListedPrefixes, S3Grants.ListCondition(statements));
        Assert.Equal("RecordStream", CfnTemplate.Target(kinesis["Resource"]));
        Assert.DoesNotContain(CfnTemplate.Strings(kinesis["Action"]), a => a.StartsWith("kinesis:Put", StringComparison.Ordinal));
        Assert.Equal(["sqs:SendMessage"], CfnTemplate.Strings(sqs["Action"]));
        Assert.Equal(["AlertQueue", "StreamFailedBatchesQueue"], sqs["Resource"]!.AsArray().Select(r => CfnTemplate.Target(r)!).Order(StringComparer.Ordinal));
        // Only the logs policy: a SAM Kinesis event would have added AWSLambdaKinesisExecutionRole, which reads every stream.
        Assert.Equal(["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"], CfnTemplate.Strings(role["ManagedPolicyArns"]));
    }

    [Fact]
    public void SampleEvent_Kinesis_IsTheDocumentedShape()
    {
        var sample = JsonNode.Parse(File.ReadAllText(Path.Combine(InfraPaths.RepositoryRoot, "functions-aws", "events", "kinesis.json")))!;
        var records = sample["Records"]!.AsArray();

        Assert.NotEmpty(records);
        Assert.All(records, r =>
        {
            Assert.Equal("aws:kinesis", r!["eventSource"]!.GetValue<string>());
            Assert.Equal("aws:kinesis:record", r["eventName"]!.GetValue<string>());
            Assert.StartsWith("arn:aws:kinesis:", r["eventSourceARN"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.StartsWith("shardId-", r["eventID"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.Equal("1.0", r["kinesis"]!["kinesisSchemaVersion"]!.GetValue<string>());
            Assert.EndsWith(r["kinesis"]!["sequenceNumber"]!.GetValue<string>(), r["eventID"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.NotEmpty(Convert.FromBase64String(r["kinesis"]!["data"]!.GetValue<string>()));
            Assert.True(r["kinesis"]!["approximateArrivalTimestamp"]!.GetValue<double>() > 1_500_000_000);
        });
    }

    private JsonNode Resource(string logicalId) => sam.Template["Resources"]![logicalId]!["Properties"]!;
}

using System.Text.Json.Nodes;
using Amazon.CDK.Assertions;
using Serverless.Functions.Aws;
using Serverless.Infra.Aws.Constructs;
using Serverless.Infra.Tests.Support;

namespace Serverless.Infra.Tests.Aws;

[Collection(CdkCollection.Name)]
public sealed class CdkStackTests(CdkSynthFixture cdk)
{
    [Fact]
    public void Bucket_Security_BlocksPublicAccessEncryptsVersionsAndOwnsObjects()
    {
        cdk.Defaults.HasResourceProperties("AWS::S3::Bucket", new Dictionary<string, object>
        {
            ["PublicAccessBlockConfiguration"] = new Dictionary<string, object>
            {
                ["BlockPublicAcls"] = true,
                ["BlockPublicPolicy"] = true,
                ["IgnorePublicAcls"] = true,
                ["RestrictPublicBuckets"] = true,
            },
            ["BucketEncryption"] = new Dictionary<string, object>
            {
                ["ServerSideEncryptionConfiguration"] = new object[]
                {
                    new Dictionary<string, object> { ["ServerSideEncryptionByDefault"] = new Dictionary<string, object> { ["SSEAlgorithm"] = "AES256" } },
                },
            },
            ["VersioningConfiguration"] = new Dictionary<string, object> { ["Status"] = "Enabled" },
            ["OwnershipControls"] = new Dictionary<string, object>
            {
                ["Rules"] = new object[] { new Dictionary<string, object> { ["ObjectOwnership"] = "BucketOwnerEnforced" } },
            },
        });
        Assert.Equal("Retain", CfnTemplate.Single(cdk.DefaultsJson, "AWS::S3::Bucket").Resource["DeletionPolicy"]!.GetValue<string>());
    }

    [Fact]
    public void BucketPolicy_InsecureTransport_IsDenied()
    {
        var statements = CfnTemplate.Properties(cdk.DefaultsJson, "AWS::S3::BucketPolicy")["PolicyDocument"]!["Statement"]!.AsArray();

        var deny = Assert.Single(statements, s => s!["Effect"]!.GetValue<string>() == "Deny");
        Assert.Equal("false", deny!["Condition"]!["Bool"]!["aws:SecureTransport"]!.GetValue<string>());
        Assert.Equal("s3:*", deny["Action"]!.GetValue<string>());
    }

    [Fact]
    public void Notifications_ObjectCreated_OnlyIncomingPrefixToTheEventsQueue()
    {
        var (_, bucket) = CfnTemplate.Single(cdk.DefaultsJson, "AWS::S3::Bucket");
        var configuration = Assert.Single(bucket["Properties"]!["NotificationConfiguration"]!["QueueConfigurations"]!.AsArray())!;
        var rule = Assert.Single(configuration["Filter"]!["S3Key"]!["Rules"]!.AsArray())!;

        Assert.Equal("s3:ObjectCreated:*", configuration["Event"]!.GetValue<string>());
        Assert.Equal("prefix", rule["Name"]!.GetValue<string>());
        Assert.Equal(LambdaContract.IncomingPrefix, rule["Value"]!.GetValue<string>());
        Assert.StartsWith("BatchQueueEvents", CfnTemplate.Target(configuration["Queue"]), StringComparison.Ordinal);
        Assert.Null(bucket["Properties"]!["NotificationConfiguration"]!["LambdaConfigurations"]);
        Assert.Null(bucket["Properties"]!["NotificationConfiguration"]!["TopicConfigurations"]);
    }

    [Fact]
    public void Notifications_QueuePolicy_AllowsS3FromTheAccountAndExistsBeforeTheBucket()
    {
        var (bucketId, bucket) = CfnTemplate.Single(cdk.DefaultsJson, "AWS::S3::Bucket");
        var (policyId, policy) = CfnTemplate.OfType(cdk.DefaultsJson, "AWS::SQS::QueuePolicy")
            .Single(p => CfnTemplate.Target(p.Resource["Properties"]!["Queues"]![0]) is { } queue && queue == EventsQueueId(cdk.DefaultsJson));
        var allow = Assert.Single(policy["Properties"]!["PolicyDocument"]!["Statement"]!.AsArray(), s => s!["Effect"]!.GetValue<string>() == "Allow")!;

        Assert.Equal("s3.amazonaws.com", allow["Principal"]!["Service"]!.GetValue<string>());
        Assert.Equal("sqs:SendMessage", allow["Action"]!.GetValue<string>());
        Assert.Equal("AWS::AccountId", CfnTemplate.Target(allow["Condition"]!["StringEquals"]!["aws:SourceAccount"]));
        Assert.Contains(policyId, CfnTemplate.Strings(bucket["DependsOn"]));
        Assert.NotEqual(bucketId, policyId);
    }

    [Fact]
    public void Notifications_NoCustomResource_OnlyTheTwoFunctionsAreDeployed()
    {
        Assert.Equal(
            [StackFunctions.BatchPrefix, StackFunctions.HttpPrefix],
            CfnTemplate.OfType(cdk.DefaultsJson, "AWS::Lambda::Function").Select(f => f.LogicalId.StartsWith(StackFunctions.HttpPrefix, StringComparison.Ordinal) ? StackFunctions.HttpPrefix : f.LogicalId[..StackFunctions.BatchPrefix.Length]).Order(StringComparer.Ordinal));
        Assert.DoesNotContain(cdk.DefaultsJson["Resources"]!.AsObject(), r => r.Value!["Type"]!.GetValue<string>().StartsWith("Custom::", StringComparison.Ordinal));
    }

    [Fact]
    public void Queues_Failures_EachRedrivesToItsEncryptedDeadLetterQueue()
    {
        var queues = CfnTemplate.OfType(cdk.DefaultsJson, "AWS::SQS::Queue");
        var events = Queue(cdk.DefaultsJson, EventsQueueId(cdk.DefaultsJson));
        var shards = Queue(cdk.DefaultsJson, ShardQueueId(cdk.DefaultsJson));
        var eventsDeadLetters = Queue(cdk.DefaultsJson, CfnTemplate.Target(events["RedrivePolicy"]!["deadLetterTargetArn"])!);
        var shardDeadLetters = Queue(cdk.DefaultsJson, CfnTemplate.Target(shards["RedrivePolicy"]!["deadLetterTargetArn"])!);

        Assert.Equal(4, queues.Count);
        Assert.Equal(3, events["RedrivePolicy"]!["maxReceiveCount"]!.GetValue<int>());
        Assert.Equal(5, shards["RedrivePolicy"]!["maxReceiveCount"]!.GetValue<int>());
        Assert.NotSame(eventsDeadLetters, shardDeadLetters);
        Assert.All([events, shards, eventsDeadLetters, shardDeadLetters], q => Assert.True(q["SqsManagedSseEnabled"]!.GetValue<bool>()));
        Assert.All([eventsDeadLetters, shardDeadLetters], q => Assert.Equal(14 * 24 * 3600, q["MessageRetentionPeriod"]!.GetValue<int>()));
    }

    /// <summary>A message in flight stays invisible for six batch-function timeouts, as AWS advises for SQS event sources.</summary>
    [Fact]
    public void Queues_VisibilityTimeout_SixTimesTheBatchFunctionTimeout()
    {
        var batchTimeout = StackFunctions.Batch(cdk.DefaultsJson)["Timeout"]!.GetValue<int>();

        Assert.Equal(900, batchTimeout);
        Assert.Equal(6 * batchTimeout, Queue(cdk.DefaultsJson, EventsQueueId(cdk.DefaultsJson))["VisibilityTimeout"]!.GetValue<int>());
        Assert.Equal(6 * batchTimeout, Queue(cdk.DefaultsJson, ShardQueueId(cdk.DefaultsJson))["VisibilityTimeout"]!.GetValue<int>());
    }

    [Fact]
    public void Queues_Variant_FollowTheBatchTimeoutAndMaxReceiveCounts()
    {
        var events = Queue(cdk.VariantJson, EventsQueueId(cdk.VariantJson));
        var shards = Queue(cdk.VariantJson, ShardQueueId(cdk.VariantJson));

        Assert.Equal(4, events["RedrivePolicy"]!["maxReceiveCount"]!.GetValue<int>());
        Assert.Equal(7, shards["RedrivePolicy"]!["maxReceiveCount"]!.GetValue<int>());
        Assert.Equal(6 * 600, events["VisibilityTimeout"]!.GetValue<int>());
        Assert.Equal(6 * 600, shards["VisibilityTimeout"]!.GetValue<int>());
    }

    [Fact]
    public void Functions_Defaults_OneBootstrapTwoDeployments()
    {
        var http = StackFunctions.Http(cdk.DefaultsJson);
        var batch = StackFunctions.Batch(cdk.DefaultsJson);

        Assert.All([http, batch], function =>
        {
            Assert.Equal("provided.al2023", function["Runtime"]!.GetValue<string>());
            Assert.Equal(LambdaContract.BootstrapName, function["Handler"]!.GetValue<string>());
            Assert.Equal(["x86_64"], CfnTemplate.Strings(function["Architectures"]));
            Assert.Equal(2048, function["EphemeralStorage"]!["Size"]!.GetValue<int>());
            Assert.Equal("Active", function["TracingConfig"]!["Mode"]!.GetValue<string>());
            Assert.Equal(CfnTemplate.Single(cdk.DefaultsJson, "AWS::S3::Bucket").LogicalId, CfnTemplate.Target(function["Environment"]!["Variables"]![LambdaContract.BucketVariable]));
        });
        Assert.Equal(http["Code"]!.ToJsonString(), batch["Code"]!.ToJsonString());
        Assert.Equal((2048, 30), (http["MemorySize"]!.GetValue<int>(), http["Timeout"]!.GetValue<int>()));
        Assert.Equal((3008, 900), (batch["MemorySize"]!.GetValue<int>(), batch["Timeout"]!.GetValue<int>()));
    }

    [Fact]
    public void Functions_Variables_OnlyTheBatchFunctionHasTheSweepAndTheShardQueues()
    {
        var http = StackFunctions.Http(cdk.DefaultsJson)["Environment"]!["Variables"]!.AsObject();
        var batch = StackFunctions.Batch(cdk.DefaultsJson)["Environment"]!["Variables"]!.AsObject();
        var shards = Queue(cdk.DefaultsJson, ShardQueueId(cdk.DefaultsJson));

        Assert.Equal([LambdaContract.BucketVariable], http.Select(v => v.Key));
        Assert.Equal(
            [LambdaContract.BucketVariable, LambdaContract.ShardDeadLetterQueueUrlVariable, LambdaContract.ShardQueueUrlVariable, LambdaContract.SweepAfterMinutesVariable],
            batch.Select(v => v.Key).Order(StringComparer.Ordinal));
        Assert.Equal("15", batch[LambdaContract.SweepAfterMinutesVariable]!.GetValue<string>());
        // Ref of a queue is its URL.
        Assert.Equal(ShardQueueId(cdk.DefaultsJson), CfnTemplate.Target(batch[LambdaContract.ShardQueueUrlVariable]));
        Assert.Equal(CfnTemplate.Target(shards["RedrivePolicy"]!["deadLetterTargetArn"]), CfnTemplate.Target(batch[LambdaContract.ShardDeadLetterQueueUrlVariable]));
    }

    [Fact]
    public void Functions_ReservedConcurrency_EachItsOwn()
    {
        Assert.Equal(50, StackFunctions.Http(cdk.DefaultsJson)["ReservedConcurrentExecutions"]!.GetValue<int>());
        Assert.Equal(30, StackFunctions.Batch(cdk.DefaultsJson)["ReservedConcurrentExecutions"]!.GetValue<int>());
        Assert.Equal(20, StackFunctions.Http(cdk.VariantJson)["ReservedConcurrentExecutions"]!.GetValue<int>());
        Assert.Equal(12, StackFunctions.Batch(cdk.VariantJson)["ReservedConcurrentExecutions"]!.GetValue<int>());
    }

    [Fact]
    public void Functions_Variant_SettingsReachTheTemplate()
    {
        var http = StackFunctions.Http(cdk.VariantJson);
        var batch = StackFunctions.Batch(cdk.VariantJson);

        Assert.All([http, batch], function =>
        {
            Assert.Equal(["arm64"], CfnTemplate.Strings(function["Architectures"]));
            Assert.Equal(4096, function["EphemeralStorage"]!["Size"]!.GetValue<int>());
            Assert.Equal("iris,minilm", function["Environment"]!["Variables"]![LambdaContract.WarmupModelsVariable]!.GetValue<string>());
        });
        Assert.Equal((3008, 20), (http["MemorySize"]!.GetValue<int>(), http["Timeout"]!.GetValue<int>()));
        Assert.Equal((5120, 600), (batch["MemorySize"]!.GetValue<int>(), batch["Timeout"]!.GetValue<int>()));
        Assert.Equal("30", batch["Environment"]!["Variables"]![LambdaContract.SweepAfterMinutesVariable]!.GetValue<string>());
        Assert.Equal("25000", batch["Environment"]!["Variables"]![LambdaContract.RowsPerShardVariable]!.GetValue<string>());
        Assert.Null(http["Environment"]!["Variables"]![LambdaContract.RowsPerShardVariable]);
    }

    [Fact]
    public void Logs_Retention_FollowsTheSettingForBothFunctions()
    {
        var groups = CfnTemplate.OfType(cdk.DefaultsJson, "AWS::Logs::LogGroup");

        Assert.Equal(2, groups.Count);
        Assert.All(groups, g => Assert.Equal(30, g.Resource["Properties"]!["RetentionInDays"]!.GetValue<int>()));
        Assert.Equal(
            groups.Select(g => g.LogicalId).Order(StringComparer.Ordinal),
            new[] { StackFunctions.Http(cdk.DefaultsJson), StackFunctions.Batch(cdk.DefaultsJson) }.Select(f => CfnTemplate.Target(f["LoggingConfig"]!["LogGroup"])!).Order(StringComparer.Ordinal));
        Assert.All(CfnTemplate.OfType(cdk.VariantJson, "AWS::Logs::LogGroup"), g => Assert.Equal(90, g.Resource["Properties"]!["RetentionInDays"]!.GetValue<int>()));
    }

    [Fact]
    public void EventSources_BothQueuesToTheBatchFunctionWithBatchItemFailuresAndMaximumConcurrency()
    {
        var events = Mapping(cdk.DefaultsJson, EventsQueueId(cdk.DefaultsJson));
        var shards = Mapping(cdk.DefaultsJson, ShardQueueId(cdk.DefaultsJson));
        var batchId = StackFunctions.BatchId(cdk.DefaultsJson);

        Assert.Equal(2, CfnTemplate.OfType(cdk.DefaultsJson, "AWS::Lambda::EventSourceMapping").Count);
        Assert.All([events, shards], mapping =>
        {
            Assert.Equal(["ReportBatchItemFailures"], CfnTemplate.Strings(mapping["FunctionResponseTypes"]));
            Assert.Equal(batchId, CfnTemplate.Target(mapping["FunctionName"]));
            Assert.Equal(1, mapping["BatchSize"]!.GetValue<int>());
        });
        Assert.Equal(5, events["ScalingConfig"]!["MaximumConcurrency"]!.GetValue<int>());
        Assert.Equal(20, shards["ScalingConfig"]!["MaximumConcurrency"]!.GetValue<int>());
    }

    [Fact]
    public void EventSources_Variant_BatchSizesAndConcurrencies()
    {
        var events = Mapping(cdk.VariantJson, EventsQueueId(cdk.VariantJson));
        var shards = Mapping(cdk.VariantJson, ShardQueueId(cdk.VariantJson));

        Assert.Equal((5, 4), (events["BatchSize"]!.GetValue<int>(), events["ScalingConfig"]!["MaximumConcurrency"]!.GetValue<int>()));
        Assert.Equal((2, 6), (shards["BatchSize"]!.GetValue<int>(), shards["ScalingConfig"]!["MaximumConcurrency"]!.GetValue<int>()));
    }

    [Fact]
    public void Grants_BatchFunction_ExactlyTheRunnersS3Statements()
    {
        var statements = StackFunctions.Statements(cdk.DefaultsJson, StackFunctions.BatchId(cdk.DefaultsJson)).Where(s => StackFunctions.Acts(s, "s3:")).ToList();

        Assert.Equal(S3Grants.Batch, S3Grants.Of(statements, CfnTemplate.BucketResource));
        Assert.Equal(S3Grants.ListedPrefixes, S3Grants.ListCondition(statements));
    }

    [Fact]
    public void Grants_HttpFunction_OnlyReadsAndListsModels()
    {
        var statements = StackFunctions.Statements(cdk.DefaultsJson, StackFunctions.HttpId(cdk.DefaultsJson));

        Assert.Equal(S3Grants.Http, S3Grants.Of(statements.Where(s => StackFunctions.Acts(s, "s3:")), CfnTemplate.BucketResource));
        Assert.Equal([LambdaContract.ModelsPrefix + "*"], S3Grants.ListCondition(statements));
        // Nothing but S3 (and X-Ray, for tracing): no queue, no other bucket.
        Assert.All(statements, s => Assert.True(StackFunctions.Acts(s, "s3:") || StackFunctions.Acts(s, "xray:"), s.ToJsonString()));
    }

    [Fact]
    public void Grants_BatchFunction_SendsToTheShardQueueAndItsDeadLettersConsumesBothQueues()
    {
        var statements = StackFunctions.Statements(cdk.DefaultsJson, StackFunctions.BatchId(cdk.DefaultsJson)).Where(s => StackFunctions.Acts(s, "sqs:")).ToList();
        var shardQueue = ShardQueueId(cdk.DefaultsJson);
        var shardDeadLetters = CfnTemplate.Target(Queue(cdk.DefaultsJson, shardQueue)["RedrivePolicy"]!["deadLetterTargetArn"])!;
        var events = EventsQueueId(cdk.DefaultsJson);
        var eventsDeadLetters = CfnTemplate.Target(Queue(cdk.DefaultsJson, events)["RedrivePolicy"]!["deadLetterTargetArn"])!;

        static IEnumerable<string> Resources(JsonNode statement) =>
            statement["Resource"] is JsonArray many ? many.Select(r => CfnTemplate.Target(r)!) : [CfnTemplate.Target(statement["Resource"])!];
        HashSet<string> Granted(string action) =>
            [.. statements.Where(s => CfnTemplate.Strings(s["Action"]).Contains(action)).SelectMany(Resources)];

        Assert.Equal([shardQueue, shardDeadLetters], Granted("sqs:SendMessage"));
        Assert.Equal([events, shardQueue], Granted("sqs:ReceiveMessage"));
        Assert.Equal([events, shardQueue], Granted("sqs:DeleteMessage"));
        Assert.DoesNotContain(eventsDeadLetters, statements.SelectMany(Resources));
        Assert.DoesNotContain(statements, s => CfnTemplate.Strings(s["Action"]).Any(a => a.Contains('*', StringComparison.Ordinal)));
    }

    [Fact]
    public void Api_Routes_OipPrefixBehindIamWithPayload20()
    {
        var routes = CfnTemplate.OfType(cdk.DefaultsJson, "AWS::ApiGatewayV2::Route").Select(r => r.Resource["Properties"]!).ToList();
        var integration = CfnTemplate.Properties(cdk.DefaultsJson, "AWS::ApiGatewayV2::Integration");

        Assert.Equal("HTTP", CfnTemplate.Properties(cdk.DefaultsJson, "AWS::ApiGatewayV2::Api")["ProtocolType"]!.GetValue<string>());
        Assert.Equal(
            new HashSet<string> { $"ANY /{InferenceHttpApi.RoutePrefix}", $"ANY /{InferenceHttpApi.RoutePrefix}/{{proxy+}}" },
            routes.Select(r => r["RouteKey"]!.GetValue<string>()).ToHashSet());
        Assert.All(routes, r => Assert.Equal("AWS_IAM", r["AuthorizationType"]!.GetValue<string>()));
        Assert.Equal("2.0", integration["PayloadFormatVersion"]!.GetValue<string>());
        Assert.Equal("AWS_PROXY", integration["IntegrationType"]!.GetValue<string>());
        Assert.Empty(CfnTemplate.OfType(cdk.DefaultsJson, "AWS::ApiGatewayV2::Authorizer"));
    }

    [Fact]
    public void Api_DefaultStage_AutoDeploysWithThrottling()
    {
        var stage = CfnTemplate.Properties(cdk.DefaultsJson, "AWS::ApiGatewayV2::Stage");

        Assert.Equal("$default", stage["StageName"]!.GetValue<string>());
        Assert.True(stage["AutoDeploy"]!.GetValue<bool>());
        Assert.Equal(100, stage["DefaultRouteSettings"]!["ThrottlingRateLimit"]!.GetValue<int>());
        Assert.Equal(200, stage["DefaultRouteSettings"]!["ThrottlingBurstLimit"]!.GetValue<int>());
        Assert.Equal(7, CfnTemplate.Properties(cdk.VariantJson, "AWS::ApiGatewayV2::Stage")["DefaultRouteSettings"]!["ThrottlingRateLimit"]!.GetValue<int>());
    }

    [Fact]
    public void Api_JwtVariant_EveryRouteNeedsATokenFromTheIssuer()
    {
        var (authorizerId, authorizer) = CfnTemplate.Single(cdk.VariantJson, "AWS::ApiGatewayV2::Authorizer");
        var routes = CfnTemplate.OfType(cdk.VariantJson, "AWS::ApiGatewayV2::Route").Select(r => r.Resource["Properties"]!).ToList();

        Assert.Equal("JWT", authorizer["Properties"]!["AuthorizerType"]!.GetValue<string>());
        Assert.Equal("https://login.example.com/tenant/v2.0", authorizer["Properties"]!["JwtConfiguration"]!["Issuer"]!.GetValue<string>());
        Assert.Equal(["api://inference"], CfnTemplate.Strings(authorizer["Properties"]!["JwtConfiguration"]!["Audience"]));
        Assert.Equal(2, routes.Count);
        Assert.All(routes, r =>
        {
            Assert.Equal("JWT", r["AuthorizationType"]!.GetValue<string>());
            Assert.Equal(authorizerId, CfnTemplate.Target(r["AuthorizerId"]));
        });
    }

    [Fact]
    public void Sweep_Schedule_InvokesTheBatchFunctionWithTheStandardScheduledEvent()
    {
        var (ruleId, rule) = CfnTemplate.Single(cdk.DefaultsJson, "AWS::Events::Rule");
        var target = Assert.Single(rule["Properties"]!["Targets"]!.AsArray())!;
        var permission = CfnTemplate.OfType(cdk.DefaultsJson, "AWS::Lambda::Permission")
            .Select(p => p.Resource["Properties"]!)
            .Single(p => p["Principal"]!.GetValue<string>() == "events.amazonaws.com");

        Assert.Equal("rate(15 minutes)", rule["Properties"]!["ScheduleExpression"]!.GetValue<string>());
        Assert.Equal("ENABLED", rule["Properties"]!["State"]!.GetValue<string>());
        Assert.Equal(StackFunctions.BatchId(cdk.DefaultsJson), CfnTemplate.Target(target["Arn"]));
        // No custom input: the function receives EventBridge's own event (source aws.events, detail-type "Scheduled Event").
        Assert.Null(target["Input"]);
        Assert.Null(target["InputPath"]);
        Assert.Null(target["InputTransformer"]);
        Assert.Equal(ruleId, CfnTemplate.Target(permission["SourceArn"]));
        Assert.Equal(StackFunctions.BatchId(cdk.DefaultsJson), CfnTemplate.Target(permission["FunctionName"]));
        Assert.Equal("lambda:InvokeFunction", permission["Action"]!.GetValue<string>());
    }

    [Fact]
    public void Sweep_AsyncInvoke_NoRetriesAndStaleSweepsDropped()
    {
        var config = CfnTemplate.Properties(cdk.DefaultsJson, "AWS::Lambda::EventInvokeConfig");
        var variant = CfnTemplate.Properties(cdk.VariantJson, "AWS::Lambda::EventInvokeConfig");

        Assert.Equal(0, config["MaximumRetryAttempts"]!.GetValue<int>());
        Assert.Equal(15 * 60, config["MaximumEventAgeInSeconds"]!.GetValue<int>());
        Assert.Equal("$LATEST", config["Qualifier"]!.GetValue<string>());
        Assert.Equal(StackFunctions.BatchId(cdk.DefaultsJson), CfnTemplate.Target(config["FunctionName"]));
        Assert.Equal(60 * 60, variant["MaximumEventAgeInSeconds"]!.GetValue<int>());
        Assert.Equal("$LATEST", variant["Qualifier"]!.GetValue<string>());
    }

    [Fact]
    public void Sweep_Variant_HourlyScheduleTargetsTheBatchFunction()
    {
        var rule = CfnTemplate.Properties(cdk.VariantJson, "AWS::Events::Rule");

        Assert.Equal("rate(1 hour)", rule["ScheduleExpression"]!.GetValue<string>());
        Assert.Equal(StackFunctions.BatchId(cdk.VariantJson), CfnTemplate.Target(Assert.Single(rule["Targets"]!.AsArray())!["Arn"]));
    }

    [Fact]
    public void ProvisionedConcurrency_Variant_LiveAliasOfTheHttpFunctionServesTheApi()
    {
        var (aliasId, alias) = CfnTemplate.Single(cdk.VariantJson, "AWS::Lambda::Alias");
        var integrationUri = CfnTemplate.Properties(cdk.VariantJson, "AWS::ApiGatewayV2::Integration")["IntegrationUri"]!;

        Assert.Equal(InferenceFunction.LiveAliasName, alias["Properties"]!["Name"]!.GetValue<string>());
        Assert.Equal(2, alias["Properties"]!["ProvisionedConcurrencyConfig"]!["ProvisionedConcurrentExecutions"]!.GetValue<int>());
        Assert.Equal(StackFunctions.HttpId(cdk.VariantJson), CfnTemplate.Target(alias["Properties"]!["FunctionName"]));
        Assert.Equal(aliasId, CfnTemplate.Target(integrationUri));
        // The queues invoke the batch function itself, which has no provisioned environments.
        Assert.All(CfnTemplate.OfType(cdk.VariantJson, "AWS::Lambda::EventSourceMapping"), m => Assert.Equal(StackFunctions.BatchId(cdk.VariantJson), CfnTemplate.Target(m.Resource["Properties"]!["FunctionName"])));
        Assert.Empty(CfnTemplate.OfType(cdk.DefaultsJson, "AWS::Lambda::Alias"));
    }

    [Fact]
    public void Api_Integration_TheHttpFunction()
    {
        var integrationUri = CfnTemplate.Properties(cdk.DefaultsJson, "AWS::ApiGatewayV2::Integration")["IntegrationUri"]!;

        Assert.Equal(StackFunctions.HttpId(cdk.DefaultsJson), CfnTemplate.Target(integrationUri));
    }

    /// <summary>The queue the bucket's notification names.</summary>
    private static string EventsQueueId(JsonNode template)
    {
        var bucket = CfnTemplate.Single(template, "AWS::S3::Bucket").Resource;
        return CfnTemplate.Target(bucket["Properties"]!["NotificationConfiguration"]!["QueueConfigurations"]![0]!["Queue"])!;
    }

    private static string ShardQueueId(JsonNode template) =>
        CfnTemplate.OfType(template, "AWS::SQS::Queue")
            .Single(q => q.LogicalId.StartsWith("ShardQueue", StringComparison.Ordinal) && q.Resource["Properties"]!["RedrivePolicy"] is not null).LogicalId;

    private static JsonNode Queue(JsonNode template, string logicalId) => template["Resources"]![logicalId]!["Properties"]!;

    private static JsonNode Mapping(JsonNode template, string queueId) =>
        CfnTemplate.OfType(template, "AWS::Lambda::EventSourceMapping")
            .Select(m => m.Resource["Properties"]!)
            .Single(m => CfnTemplate.Target(m["EventSourceArn"]) == queueId);
}

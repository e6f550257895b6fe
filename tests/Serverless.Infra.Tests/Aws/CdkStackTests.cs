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
        Assert.Equal(EventsQueueId(cdk.DefaultsJson), CfnTemplate.Target(configuration["Queue"]));
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
    public void Notifications_NoCustomResource_OnlyTheInferenceFunctionIsDeployed()
    {
        cdk.Defaults.ResourceCountIs("AWS::Lambda::Function", 1);
        Assert.DoesNotContain(cdk.DefaultsJson["Resources"]!.AsObject(), r => r.Value!["Type"]!.GetValue<string>().StartsWith("Custom::", StringComparison.Ordinal));
    }

    [Fact]
    public void Queue_Failures_RedriveToEncryptedDeadLetterQueue()
    {
        var events = Queue(cdk.DefaultsJson, EventsQueueId(cdk.DefaultsJson));
        var deadLetterId = CfnTemplate.Target(events["RedrivePolicy"]!["deadLetterTargetArn"])!;
        var deadLetter = Queue(cdk.DefaultsJson, deadLetterId);

        Assert.Equal(3, events["RedrivePolicy"]!["maxReceiveCount"]!.GetValue<int>());
        Assert.Equal(6 * 60, events["VisibilityTimeout"]!.GetValue<int>());
        Assert.True(events["SqsManagedSseEnabled"]!.GetValue<bool>());
        Assert.True(deadLetter["SqsManagedSseEnabled"]!.GetValue<bool>());
        Assert.Equal(14 * 24 * 3600, deadLetter["MessageRetentionPeriod"]!.GetValue<int>());
        Assert.Equal(2, CfnTemplate.OfType(cdk.DefaultsJson, "AWS::SQS::Queue").Count);
    }

    [Fact]
    public void Queue_Variant_FollowsTimeoutAndMaxReceiveCount()
    {
        var events = Queue(cdk.VariantJson, EventsQueueId(cdk.VariantJson));

        Assert.Equal(4, events["RedrivePolicy"]!["maxReceiveCount"]!.GetValue<int>());
        Assert.Equal(6 * 120, events["VisibilityTimeout"]!.GetValue<int>());
    }

    [Fact]
    public void Function_Defaults_ProvidedAl2023BootstrapX64WithBucketVariable()
    {
        var function = CfnTemplate.Properties(cdk.DefaultsJson, "AWS::Lambda::Function");
        var variables = function["Environment"]!["Variables"]!.AsObject();

        Assert.Equal("provided.al2023", function["Runtime"]!.GetValue<string>());
        Assert.Equal(LambdaContract.BootstrapName, function["Handler"]!.GetValue<string>());
        Assert.Equal(["x86_64"], CfnTemplate.Strings(function["Architectures"]));
        Assert.Equal(2048, function["MemorySize"]!.GetValue<int>());
        Assert.Equal(60, function["Timeout"]!.GetValue<int>());
        Assert.Equal(2048, function["EphemeralStorage"]!["Size"]!.GetValue<int>());
        Assert.Equal("Active", function["TracingConfig"]!["Mode"]!.GetValue<string>());
        Assert.Equal(CfnTemplate.Single(cdk.DefaultsJson, "AWS::S3::Bucket").LogicalId, CfnTemplate.Target(variables[LambdaContract.BucketVariable]));
        Assert.Equal("15", variables[LambdaContract.SweepAfterMinutesVariable]!.GetValue<string>());
        Assert.Equal([LambdaContract.BucketVariable, LambdaContract.SweepAfterMinutesVariable], variables.Select(v => v.Key).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Function_ReservedConcurrency_CapsEveryCallerTogether()
    {
        Assert.Equal(50, CfnTemplate.Properties(cdk.DefaultsJson, "AWS::Lambda::Function")["ReservedConcurrentExecutions"]!.GetValue<int>());
        Assert.Equal(20, CfnTemplate.Properties(cdk.VariantJson, "AWS::Lambda::Function")["ReservedConcurrentExecutions"]!.GetValue<int>());
    }

    [Fact]
    public void Function_Variant_SettingsReachTheTemplate()
    {
        var function = CfnTemplate.Properties(cdk.VariantJson, "AWS::Lambda::Function");

        Assert.Equal(["arm64"], CfnTemplate.Strings(function["Architectures"]));
        Assert.Equal(3008, function["MemorySize"]!.GetValue<int>());
        Assert.Equal(120, function["Timeout"]!.GetValue<int>());
        Assert.Equal(4096, function["EphemeralStorage"]!["Size"]!.GetValue<int>());
        Assert.Equal("iris,minilm", function["Environment"]!["Variables"]![LambdaContract.WarmupModelsVariable]!.GetValue<string>());
        Assert.Equal("30", function["Environment"]!["Variables"]![LambdaContract.SweepAfterMinutesVariable]!.GetValue<string>());
    }

    [Fact]
    public void Logs_Retention_FollowsTheSetting()
    {
        var (defaultLogsId, defaultLogs) = CfnTemplate.Single(cdk.DefaultsJson, "AWS::Logs::LogGroup");

        Assert.Equal(30, defaultLogs["Properties"]!["RetentionInDays"]!.GetValue<int>());
        Assert.Equal(defaultLogsId, CfnTemplate.Target(CfnTemplate.Properties(cdk.DefaultsJson, "AWS::Lambda::Function")["LoggingConfig"]!["LogGroup"]));
        Assert.Equal(90, CfnTemplate.Properties(cdk.VariantJson, "AWS::Logs::LogGroup")["RetentionInDays"]!.GetValue<int>());
    }

    [Fact]
    public void EventSource_SqsBatch_ReportsBatchItemFailures()
    {
        var mapping = CfnTemplate.Properties(cdk.DefaultsJson, "AWS::Lambda::EventSourceMapping");

        Assert.Equal(["ReportBatchItemFailures"], CfnTemplate.Strings(mapping["FunctionResponseTypes"]));
        Assert.Equal(1, mapping["BatchSize"]!.GetValue<int>());
        Assert.Equal(10, mapping["ScalingConfig"]!["MaximumConcurrency"]!.GetValue<int>());
        Assert.Equal(4, CfnTemplate.Properties(cdk.VariantJson, "AWS::Lambda::EventSourceMapping")["ScalingConfig"]!["MaximumConcurrency"]!.GetValue<int>());
        Assert.Equal(EventsQueueId(cdk.DefaultsJson), CfnTemplate.Target(mapping["EventSourceArn"]));
        Assert.Equal(CfnTemplate.Single(cdk.DefaultsJson, "AWS::Lambda::Function").LogicalId, CfnTemplate.Target(mapping["FunctionName"]));
    }

    [Fact]
    public void Grants_FunctionRole_ExactlyTheContractPrefixStatements()
    {
        var statements = CfnTemplate.Properties(cdk.DefaultsJson, "AWS::IAM::Policy")["PolicyDocument"]!["Statement"]!.AsArray()
            .Select(s => s!)
            .Where(s => CfnTemplate.Strings(s["Action"]).Any(a => a.StartsWith("s3:", StringComparison.Ordinal)))
            .ToList();

        Assert.Equal(S3Grants.Expected, S3Grants.Of(statements, CfnTemplate.BucketResource));
        Assert.Equal(S3Grants.ListedPrefixes, S3Grants.ListCondition(statements));
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
    public void Sweep_Schedule_InvokesTheFunctionWithTheStandardScheduledEvent()
    {
        var (ruleId, rule) = CfnTemplate.Single(cdk.DefaultsJson, "AWS::Events::Rule");
        var target = Assert.Single(rule["Properties"]!["Targets"]!.AsArray())!;
        var permission = CfnTemplate.OfType(cdk.DefaultsJson, "AWS::Lambda::Permission")
            .Select(p => p.Resource["Properties"]!)
            .Single(p => p["Principal"]!.GetValue<string>() == "events.amazonaws.com");

        Assert.Equal("rate(15 minutes)", rule["Properties"]!["ScheduleExpression"]!.GetValue<string>());
        Assert.Equal("ENABLED", rule["Properties"]!["State"]!.GetValue<string>());
        Assert.Equal(CfnTemplate.Single(cdk.DefaultsJson, "AWS::Lambda::Function").LogicalId, CfnTemplate.Target(target["Arn"]));
        // No custom input: the function receives EventBridge's own event (source aws.events, detail-type "Scheduled Event").
        Assert.Null(target["Input"]);
        Assert.Null(target["InputPath"]);
        Assert.Null(target["InputTransformer"]);
        Assert.Equal(ruleId, CfnTemplate.Target(permission["SourceArn"]));
        Assert.Equal("lambda:InvokeFunction", permission["Action"]!.GetValue<string>());
    }

    [Fact]
    public void Sweep_AsyncInvoke_NoRetriesAndStaleSweepsDropped()
    {
        var config = CfnTemplate.Properties(cdk.DefaultsJson, "AWS::Lambda::EventInvokeConfig");
        var variant = CfnTemplate.Properties(cdk.VariantJson, "AWS::Lambda::EventInvokeConfig");
        var (aliasId, _) = CfnTemplate.Single(cdk.VariantJson, "AWS::Lambda::Alias");

        Assert.Equal(0, config["MaximumRetryAttempts"]!.GetValue<int>());
        Assert.Equal(15 * 60, config["MaximumEventAgeInSeconds"]!.GetValue<int>());
        Assert.Equal("$LATEST", config["Qualifier"]!.GetValue<string>());
        Assert.Equal(60 * 60, variant["MaximumEventAgeInSeconds"]!.GetValue<int>());
        // The alias's name, taken from its ARN: the sweep invokes the live alias, so its settings are the alias's.
        Assert.Contains($"{{\"Ref\":\"{aliasId}\"}}", variant["Qualifier"]!.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Sweep_Variant_HourlyScheduleTargetsTheLiveAlias()
    {
        var rule = CfnTemplate.Properties(cdk.VariantJson, "AWS::Events::Rule");
        var (aliasId, _) = CfnTemplate.Single(cdk.VariantJson, "AWS::Lambda::Alias");

        Assert.Equal("rate(1 hour)", rule["ScheduleExpression"]!.GetValue<string>());
        Assert.Equal(aliasId, CfnTemplate.Target(Assert.Single(rule["Targets"]!.AsArray())!["Arn"]));
    }

    [Fact]
    public void ProvisionedConcurrency_Variant_LiveAliasServesApiAndQueue()
    {
        var (aliasId, alias) = CfnTemplate.Single(cdk.VariantJson, "AWS::Lambda::Alias");
        var mapping = CfnTemplate.Properties(cdk.VariantJson, "AWS::Lambda::EventSourceMapping");
        var integrationUri = CfnTemplate.Properties(cdk.VariantJson, "AWS::ApiGatewayV2::Integration")["IntegrationUri"]!;

        Assert.Equal(InferenceFunction.LiveAliasName, alias["Properties"]!["Name"]!.GetValue<string>());
        Assert.Equal(2, alias["Properties"]!["ProvisionedConcurrencyConfig"]!["ProvisionedConcurrentExecutions"]!.GetValue<int>());
        // The mapping names the function qualified by the alias: "<function name>:live", taken from the alias ARN.
        Assert.Contains($"{{\"Ref\":\"{aliasId}\"}}", mapping["FunctionName"]!.ToJsonString(), StringComparison.Ordinal);
        Assert.EndsWith($"\":{InferenceFunction.LiveAliasName}\"]]}}", mapping["FunctionName"]!.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal(aliasId, CfnTemplate.Target(integrationUri));
        Assert.Equal(5, mapping["BatchSize"]!.GetValue<int>());
        Assert.Empty(CfnTemplate.OfType(cdk.DefaultsJson, "AWS::Lambda::Alias"));
    }

    private static string EventsQueueId(JsonNode template) =>
        CfnTemplate.OfType(template, "AWS::SQS::Queue").Single(q => q.Resource["Properties"]!["RedrivePolicy"] is not null).LogicalId;

    private static JsonNode Queue(JsonNode template, string logicalId) => template["Resources"]![logicalId]!["Properties"]!;
}

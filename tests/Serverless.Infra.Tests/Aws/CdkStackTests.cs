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
        Assert.Equal([LambdaContract.BucketVariable], variables.Select(v => v.Key));
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
        Assert.Equal(EventsQueueId(cdk.DefaultsJson), CfnTemplate.Target(mapping["EventSourceArn"]));
        Assert.Equal(CfnTemplate.Single(cdk.DefaultsJson, "AWS::Lambda::Function").LogicalId, CfnTemplate.Target(mapping["FunctionName"]));
    }

    [Fact]
    public void Grants_FunctionRole_LeastPrivilegeOnTheContractPrefixes()
    {
        var statements = CfnTemplate.Properties(cdk.DefaultsJson, "AWS::IAM::Policy")["PolicyDocument"]!["Statement"]!.AsArray()
            .Select(s => s!)
            .Where(s => CfnTemplate.Strings(s["Action"]).Any(a => a.StartsWith("s3:", StringComparison.Ordinal)))
            .ToList();
        var objectGrants = statements
            .SelectMany(s => CfnTemplate.Strings(s["Action"]).SelectMany(action =>
                (s["Resource"] is JsonArray many ? many.Select(r => r!) : [s["Resource"]!])
                    .Select(CfnTemplate.BucketResource)
                    .Where(resource => resource != "bucket")
                    .Select(resource => (Action: action, Resource: resource))))
            .ToHashSet();

        string Keys(string prefix) => $"bucket/{prefix}*";
        Assert.All(statements, s => Assert.Equal("Allow", s["Effect"]!.GetValue<string>()));
        // Reads cover the batch runner's HEAD of existing results (outgoing/) and its retry counters (failed/).
        Assert.Equal(
            new HashSet<string> { Keys(LambdaContract.ModelsPrefix), Keys(LambdaContract.IncomingPrefix), Keys(LambdaContract.OutgoingPrefix), Keys(LambdaContract.FailedPrefix) },
            objectGrants.Where(g => g.Action == "s3:GetObject*").Select(g => g.Resource).ToHashSet());
        Assert.Equal(
            new HashSet<string> { Keys(LambdaContract.OutgoingPrefix), Keys(LambdaContract.FailedPrefix) },
            objectGrants.Where(g => g.Action == "s3:PutObject").Select(g => g.Resource).ToHashSet());
        Assert.Equal(
            new HashSet<string> { Keys(LambdaContract.IncomingPrefix) },
            objectGrants.Where(g => g.Action == "s3:DeleteObject*").Select(g => g.Resource).ToHashSet());
        Assert.DoesNotContain(objectGrants, g => g.Resource == "bucket/*" || g.Action is "s3:*" or "s3:PutBucketPolicy");
        // On the bucket itself only reads of its metadata and listings: nothing that writes or deletes.
        var bucketActions = statements
            .Where(s => (s["Resource"] is JsonArray many ? many.Select(r => r!) : [s["Resource"]!]).Any(r => CfnTemplate.BucketResource(r) == "bucket"))
            .SelectMany(s => CfnTemplate.Strings(s["Action"]))
            .ToHashSet();
        Assert.Equal(new HashSet<string> { "s3:GetObject*", "s3:GetBucket*", "s3:List*" }, bucketActions);
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

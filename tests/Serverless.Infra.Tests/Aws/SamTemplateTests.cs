using System.Text.Json.Nodes;
using Serverless.Functions.Aws;
using Serverless.Infra.Tests.Support;
using Serverless.Tests.Support;

namespace Serverless.Infra.Tests.Aws;

/// <summary>The SAM template (functions-aws/template.yaml) after the SAM transform: the same functions, queues, grants and limits as the CDK stack.</summary>
public sealed class SamTemplateTests(SamTemplateFixture sam) : IClassFixture<SamTemplateFixture>
{
    [Fact]
    public async Task CfnLint_SamTemplate_ReportsNothing()
    {
        var result = await ProcessRunner.RunAsync(PythonTools.CfnLint, ["--", SamTemplateFixture.TemplatePath], timeout: TimeSpan.FromMinutes(2));

        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Fact]
    public void Functions_OneBootstrapForEach_HttpShortBatch900s()
    {
        var functions = CfnTemplate.OfType(sam.Template, "AWS::Lambda::Function").ToDictionary(f => f.LogicalId, f => f.Resource["Properties"]!);
        var (http, batch) = (functions["InferenceFunction"], functions["BatchFunction"]);

        Assert.Equal(3, functions.Count);
        Assert.Equal(http["Code"]!.ToJsonString(), batch["Code"]!.ToJsonString());
        Assert.Equal(http["Code"]!.ToJsonString(), functions["StreamFunction"]["Code"]!.ToJsonString());
        Assert.Equal(30, http["Timeout"]!.GetValue<int>());
        Assert.Equal(900, batch["Timeout"]!.GetValue<int>());
        Assert.Equal("MemorySize", CfnTemplate.Target(http["MemorySize"]));
        Assert.Equal("BatchMemorySize", CfnTemplate.Target(batch["MemorySize"]));
        AssertNumberParameter("BatchMemorySize", 3008, 256, 10240);
    }

    [Fact]
    public void Grants_BatchFunctionRole_ExactlyTheRunnersS3StatementsAndSendingShards()
    {
        var statements = RoleStatements("BatchFunctionRole");
        var send = Assert.Single(statements, s => CfnTemplate.Strings(s["Action"]).Any(a => a.StartsWith("sqs:", StringComparison.Ordinal)));

        Assert.Equal(S3Grants.Batch, S3Grants.Of(statements.Where(s => s != send), CfnTemplate.SamBucketResource));
        Assert.Equal(S3Grants.ListedPrefixes, S3Grants.ListCondition(statements));
        Assert.Equal(["sqs:SendMessage"], CfnTemplate.Strings(send["Action"]));
        Assert.Equal(["ShardDeadLetterQueue", "ShardQueue"], send["Resource"]!.AsArray().Select(r => CfnTemplate.Target(r)!).Order(StringComparer.Ordinal));
        // SAM's own managed policies: logs, and reading the queues for the event source mappings; nothing for S3.
        Assert.Equal(
            ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole", "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole"],
            CfnTemplate.Strings(Role("BatchFunctionRole")["ManagedPolicyArns"]).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Grants_HttpFunctionRole_OnlyModels()
    {
        var statements = RoleStatements("InferenceFunctionRole");

        Assert.Equal(S3Grants.Http, S3Grants.Of(statements, CfnTemplate.SamBucketResource));
        Assert.Equal([LambdaContract.ModelsPrefix + "*"], S3Grants.ListCondition(statements));
        Assert.Equal(["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"], CfnTemplate.Strings(Role("InferenceFunctionRole")["ManagedPolicyArns"]));
    }

    [Fact]
    public void Functions_ReservedConcurrency_EachFromItsParameter()
    {
        var functions = CfnTemplate.OfType(sam.Template, "AWS::Lambda::Function").ToDictionary(f => f.LogicalId, f => f.Resource["Properties"]!);

        Assert.Equal("ReservedConcurrency", CfnTemplate.Target(functions["InferenceFunction"]["ReservedConcurrentExecutions"]));
        Assert.Equal("BatchReservedConcurrency", CfnTemplate.Target(functions["BatchFunction"]["ReservedConcurrentExecutions"]));
        AssertNumberParameter("ReservedConcurrency", 50, 1, 1000);
        AssertNumberParameter("BatchReservedConcurrency", 30, 4, 1000);
    }

    [Fact]
    public void EventSources_BothQueuesToTheBatchFunctionWithMaximumConcurrencyFromParameters()
    {
        var mappings = CfnTemplate.OfType(sam.Template, "AWS::Lambda::EventSourceMapping")
            .Select(m => m.Resource["Properties"]!)
            .ToDictionary(m => CfnTemplate.Target(m["EventSourceArn"])!);

        mappings.Remove("RecordStream");
        Assert.Equal(["BatchQueue", "ShardQueue"], mappings.Keys.Order(StringComparer.Ordinal));
        Assert.All(mappings.Values, m =>
        {
            Assert.Equal(["ReportBatchItemFailures"], CfnTemplate.Strings(m["FunctionResponseTypes"]));
            Assert.Equal("BatchFunction", CfnTemplate.Target(m["FunctionName"]));
            Assert.Equal(1, m["BatchSize"]!.GetValue<int>());
        });
        Assert.Equal("SqsMaximumConcurrency", CfnTemplate.Target(mappings["BatchQueue"]["ScalingConfig"]!["MaximumConcurrency"]));
        Assert.Equal("ShardMaximumConcurrency", CfnTemplate.Target(mappings["ShardQueue"]["ScalingConfig"]!["MaximumConcurrency"]));
        AssertNumberParameter("SqsMaximumConcurrency", 5, 2, 1000);
        AssertNumberParameter("ShardMaximumConcurrency", 20, 2, 1000);
        // The defaults leave the batch function's reserved concurrency room for both queues, and for the sweep.
        int Default(string name) => sam.Template["Parameters"]![name]!["Default"]!.GetValue<int>();
        Assert.True(Default("SqsMaximumConcurrency") + Default("ShardMaximumConcurrency") < Default("BatchReservedConcurrency"));
    }

    [Fact]
    public void Queues_Failures_EachRedrivesToItsDeadLetterQueueVisibilitySixBatchTimeouts()
    {
        var queues = CfnTemplate.OfType(sam.Template, "AWS::SQS::Queue").ToDictionary(q => q.LogicalId, q => q.Resource["Properties"]!);
        var batchTimeout = CfnTemplate.OfType(sam.Template, "AWS::Lambda::Function").Single(f => f.LogicalId == "BatchFunction").Resource["Properties"]!["Timeout"]!.GetValue<int>();

        Assert.Equal(7, queues.Count);
        foreach (var (queue, deadLetters) in new[] { ("BatchQueue", "BatchDeadLetterQueue"), ("ShardQueue", "ShardDeadLetterQueue") })
        {
            var redrive = queues[queue]["RedrivePolicy"]!;
            Assert.Equal(deadLetters, CfnTemplate.Target(redrive["deadLetterTargetArn"]));
            Assert.Equal(5, redrive["maxReceiveCount"]!.GetValue<int>());
            Assert.Equal(6 * batchTimeout, queues[queue]["VisibilityTimeout"]!.GetValue<int>());
            Assert.Equal(14 * 24 * 3600, queues[deadLetters]["MessageRetentionPeriod"]!.GetValue<int>());
            Assert.True(queues[deadLetters]["SqsManagedSseEnabled"]!.GetValue<bool>());
        }
    }

    [Fact]
    public void Variables_BatchFunctionHasTheShardQueuesHttpFunctionDoesNot()
    {
        var functions = CfnTemplate.OfType(sam.Template, "AWS::Lambda::Function").ToDictionary(f => f.LogicalId, f => f.Resource["Properties"]!["Environment"]!["Variables"]!.AsObject());

        Assert.Equal("ShardQueue", CfnTemplate.Target(functions["BatchFunction"][LambdaContract.ShardQueueUrlVariable]));
        Assert.Equal("ShardDeadLetterQueue", CfnTemplate.Target(functions["BatchFunction"][LambdaContract.ShardDeadLetterQueueUrlVariable]));
        Assert.Equal("RowsPerShard", CfnTemplate.Target(functions["BatchFunction"][LambdaContract.RowsPerShardVariable]));
        Assert.Equal("", sam.Template["Parameters"]!["RowsPerShard"]!["Default"]!.GetValue<string>());
        Assert.Equal([LambdaContract.BucketVariable, LambdaContract.WarmupModelsVariable], functions["InferenceFunction"].Select(v => v.Key).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Api_DefaultStage_ThrottledByParameters()
    {
        var stage = CfnTemplate.Properties(sam.Template, "AWS::ApiGatewayV2::Stage");

        Assert.Equal("$default", stage["StageName"]!.GetValue<string>());
        Assert.Equal("ApiThrottlingRateLimit", CfnTemplate.Target(stage["DefaultRouteSettings"]!["ThrottlingRateLimit"]));
        Assert.Equal("ApiThrottlingBurstLimit", CfnTemplate.Target(stage["DefaultRouteSettings"]!["ThrottlingBurstLimit"]));
        AssertNumberParameter("ApiThrottlingRateLimit", 100, 1, 10000);
        AssertNumberParameter("ApiThrottlingBurstLimit", 200, 1, 5000);
    }

    [Fact]
    public void Sweep_Schedule_InvokesTheFunctionWithTheStandardScheduledEvent()
    {
        var (ruleId, rule) = CfnTemplate.Single(sam.Template, "AWS::Events::Rule");
        var target = Assert.Single(rule["Properties"]!["Targets"]!.AsArray())!;
        var permission = CfnTemplate.OfType(sam.Template, "AWS::Lambda::Permission")
            .Select(p => p.Resource["Properties"]!)
            .Single(p => p["Principal"]!.GetValue<string>() == "events.amazonaws.com");
        var schedule = sam.Template["Parameters"]!["SweepSchedule"]!;

        Assert.Equal("SweepSchedule", CfnTemplate.Target(rule["Properties"]!["ScheduleExpression"]));
        Assert.Equal("rate(15 minutes)", schedule["Default"]!.GetValue<string>());
        Assert.Equal("ENABLED", rule["Properties"]!["State"]!.GetValue<string>());
        Assert.Equal("BatchFunction", CfnTemplate.Target(target["Arn"]));
        Assert.Null(target["Input"]);
        Assert.Null(target["InputPath"]);
        Assert.Null(target["InputTransformer"]);
        Assert.Equal(ruleId, CfnTemplate.Target(permission["SourceArn"]));
    }

    [Fact]
    public void Sweep_Settings_VariableAndAsyncInvokeWithoutRetries()
    {
        var variables = CfnTemplate.OfType(sam.Template, "AWS::Lambda::Function").Single(f => f.LogicalId == "BatchFunction").Resource["Properties"]!["Environment"]!["Variables"]!;
        var config = CfnTemplate.Properties(sam.Template, "AWS::Lambda::EventInvokeConfig");

        Assert.Equal("SweepAfterMinutes", CfnTemplate.Target(variables[LambdaContract.SweepAfterMinutesVariable]));
        Assert.Equal("InferenceBucket", CfnTemplate.Target(variables[LambdaContract.BucketVariable]));
        AssertNumberParameter("SweepAfterMinutes", 15, 1, 1440);
        Assert.Equal(0, config["MaximumRetryAttempts"]!.GetValue<int>());
        Assert.Equal(900, config["MaximumEventAgeInSeconds"]!.GetValue<int>());
        Assert.Equal("BatchFunction", CfnTemplate.Target(config["FunctionName"]));
    }

    [Fact]
    public void SampleEvent_ScheduledSweep_IsTheEventBridgeScheduledEvent()
    {
        var sample = JsonNode.Parse(File.ReadAllText(Path.Combine(InfraPaths.RepositoryRoot, "functions-aws", "events", "scheduled-sweep.json")))!;

        Assert.Equal("aws.events", sample["source"]!.GetValue<string>());
        Assert.Equal("Scheduled Event", sample["detail-type"]!.GetValue<string>());
        Assert.Empty(sample["detail"]!.AsObject());
        Assert.StartsWith("arn:aws:events:", Assert.Single(sample["resources"]!.AsArray())!.GetValue<string>(), StringComparison.Ordinal);
    }

    private JsonNode Role(string logicalId) => CfnTemplate.OfType(sam.Template, "AWS::IAM::Role").Single(r => r.LogicalId == logicalId).Resource["Properties"]!;

    private List<JsonNode> RoleStatements(string logicalId) =>
        [.. Role(logicalId)["Policies"]!.AsArray().SelectMany(policy => policy!["PolicyDocument"]!["Statement"]!.AsArray().Select(s => s!))];

    private void AssertNumberParameter(string name, int defaultValue, int min, int max)
    {
        var parameter = sam.Template["Parameters"]![name]!;

        Assert.Equal("Number", parameter["Type"]!.GetValue<string>());
        Assert.Equal(defaultValue, parameter["Default"]!.GetValue<int>());
        Assert.Equal(min, parameter["MinValue"]!.GetValue<int>());
        Assert.Equal(max, parameter["MaxValue"]!.GetValue<int>());
    }
}

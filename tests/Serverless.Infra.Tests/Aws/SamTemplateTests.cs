using System.Text.Json.Nodes;
using Serverless.Functions.Aws;
using Serverless.Infra.Tests.Support;

namespace Serverless.Infra.Tests.Aws;

/// <summary>The SAM template (functions-aws/template.yaml) after the SAM transform: the same grants and limits as the CDK stack.</summary>
public sealed class SamTemplateTests(SamTemplateFixture sam) : IClassFixture<SamTemplateFixture>
{
    [Fact]
    public async Task CfnLint_SamTemplate_ReportsNothing()
    {
        var result = await ProcessRunner.RunAsync("cfn-lint", ["--", SamTemplateFixture.TemplatePath], timeout: TimeSpan.FromMinutes(2));

        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Fact]
    public void Grants_FunctionRole_ExactlyTheContractPrefixStatements()
    {
        var role = CfnTemplate.Properties(sam.Template, "AWS::IAM::Role");
        var statements = role["Policies"]!.AsArray()
            .SelectMany(policy => policy!["PolicyDocument"]!["Statement"]!.AsArray().Select(s => s!))
            .ToList();

        Assert.Equal(S3Grants.Expected, S3Grants.Of(statements, CfnTemplate.SamBucketResource));
        Assert.Equal(S3Grants.ListedPrefixes, S3Grants.ListCondition(statements));
        // SAM's own managed policies: logs, and reading the queue for the event source mapping; nothing for S3.
        Assert.Equal(
            ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole", "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole"],
            CfnTemplate.Strings(role["ManagedPolicyArns"]).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Function_ReservedConcurrency_FromParameterDefault50()
    {
        var function = CfnTemplate.Properties(sam.Template, "AWS::Lambda::Function");

        Assert.Equal("ReservedConcurrency", CfnTemplate.Target(function["ReservedConcurrentExecutions"]));
        AssertNumberParameter("ReservedConcurrency", 50, 1, 1000);
    }

    [Fact]
    public void EventSource_Sqs_MaximumConcurrencyFromParameterDefault10()
    {
        var mapping = CfnTemplate.Properties(sam.Template, "AWS::Lambda::EventSourceMapping");

        Assert.Equal("SqsMaximumConcurrency", CfnTemplate.Target(mapping["ScalingConfig"]!["MaximumConcurrency"]));
        Assert.Equal(["ReportBatchItemFailures"], CfnTemplate.Strings(mapping["FunctionResponseTypes"]));
        Assert.Equal("BatchQueue", CfnTemplate.Target(mapping["EventSourceArn"]));
        AssertNumberParameter("SqsMaximumConcurrency", 10, 2, 1000);
    }

    [Fact]
    public void Queue_Failures_RedriveToTheDeadLetterQueue()
    {
        var queues = CfnTemplate.OfType(sam.Template, "AWS::SQS::Queue").ToDictionary(q => q.LogicalId, q => q.Resource["Properties"]!);
        var redrive = queues["BatchQueue"]["RedrivePolicy"]!;

        Assert.Equal("BatchDeadLetterQueue", CfnTemplate.Target(redrive["deadLetterTargetArn"]));
        Assert.Equal(5, redrive["maxReceiveCount"]!.GetValue<int>());
        Assert.Equal(14 * 24 * 3600, queues["BatchDeadLetterQueue"]["MessageRetentionPeriod"]!.GetValue<int>());
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
        Assert.Equal("InferenceFunction", CfnTemplate.Target(target["Arn"]));
        Assert.Null(target["Input"]);
        Assert.Null(target["InputPath"]);
        Assert.Null(target["InputTransformer"]);
        Assert.Equal(ruleId, CfnTemplate.Target(permission["SourceArn"]));
    }

    [Fact]
    public void Sweep_Settings_VariableAndAsyncInvokeWithoutRetries()
    {
        var variables = CfnTemplate.Properties(sam.Template, "AWS::Lambda::Function")["Environment"]!["Variables"]!;
        var config = CfnTemplate.Properties(sam.Template, "AWS::Lambda::EventInvokeConfig");

        Assert.Equal("SweepAfterMinutes", CfnTemplate.Target(variables[LambdaContract.SweepAfterMinutesVariable]));
        Assert.Equal("InferenceBucket", CfnTemplate.Target(variables[LambdaContract.BucketVariable]));
        AssertNumberParameter("SweepAfterMinutes", 15, 1, 1440);
        Assert.Equal(0, config["MaximumRetryAttempts"]!.GetValue<int>());
        Assert.Equal(900, config["MaximumEventAgeInSeconds"]!.GetValue<int>());
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

    private void AssertNumberParameter(string name, int defaultValue, int min, int max)
    {
        var parameter = sam.Template["Parameters"]![name]!;

        Assert.Equal("Number", parameter["Type"]!.GetValue<string>());
        Assert.Equal(defaultValue, parameter["Default"]!.GetValue<int>());
        Assert.Equal(min, parameter["MinValue"]!.GetValue<int>());
        Assert.Equal(max, parameter["MaxValue"]!.GetValue<int>());
    }
}

using Serverless.Functions.Aws;
using Serverless.Functions.Azure;
using Serverless.Infra.Aws.Constructs;
using Serverless.Infra.Tests.Azure;
using Serverless.Infra.Tests.Support;

namespace Serverless.Infra.Tests.Drift;

/// <summary>
/// The names the adapters read against the names the templates provision. The AWS stack compiles
/// LambdaContract.cs in (one source of truth); Bicep cannot, so main.bicep's names are compared here and
/// in the Azure template tests, which read AzureContract.cs compiled into this project.
/// </summary>
[Collection(BicepCollection.Name)]
public sealed class ContractDriftTests(BicepFixture bicep)
{
    [Fact]
    public async Task MainBicep_AdapterNames_AreTheContractValues()
    {
        var source = await File.ReadAllTextAsync(InfraPaths.AzureMainTemplate);

        Assert.Contains($"var storageConnectionName = '{AzureContract.StorageConnection}'", source, StringComparison.Ordinal);
        Assert.Contains($"var modelsContainer = '{AzureContract.ModelsContainer}'", source, StringComparison.Ordinal);
        Assert.Contains($"var incomingContainer = '{AzureContract.IncomingContainer}'", source, StringComparison.Ordinal);
        Assert.Contains($"var outgoingContainer = '{AzureContract.OutgoingContainer}'", source, StringComparison.Ordinal);
        Assert.Contains($"var failedContainer = '{AzureContract.FailedContainer}'", source, StringComparison.Ordinal);
        Assert.Contains($"var scoreBlobFunction = '{AzureContract.ScoreBlobFunction}'", source, StringComparison.Ordinal);
        Assert.Contains($"var routePrefix = '{AzureContract.RoutePrefix}'", source, StringComparison.Ordinal);
        Assert.Contains($"var warmupModelsSettingName = '{AzureContract.WarmupModelsSetting}'", source, StringComparison.Ordinal);
        Assert.Contains($"var deadLetterContainer = '{AzureContract.DeadLetterContainer}'", source, StringComparison.Ordinal);
        Assert.Contains($"var captureContainer = '{AzureContract.CaptureContainer}'", source, StringComparison.Ordinal);
        Assert.Contains($"var instanceMemorySettingName = '{AzureContract.InstanceMemorySetting}'", source, StringComparison.Ordinal);
        Assert.Contains($"var sweepScheduleSettingName = '{AzureContract.SweepScheduleSetting}'", source, StringComparison.Ordinal);
        Assert.Contains($"var sweepAfterMinutesSettingName = '{AzureContract.SweepAfterMinutesSetting}'", source, StringComparison.Ordinal);
        Assert.Contains($"var scoreShardFunction = '{AzureContract.ScoreShardFunction}'", source, StringComparison.Ordinal);
        Assert.Contains($"var shardQueue = '{AzureContract.ShardQueue}'", source, StringComparison.Ordinal);
        Assert.Contains($"var shardPoisonQueue = '{AzureContract.ShardPoisonQueue}'", source, StringComparison.Ordinal);
        Assert.Contains($"var shardMinBytesSettingName = '{AzureContract.ShardMinBytesSetting}'", source, StringComparison.Ordinal);
        Assert.Contains($"var rowsPerShardSettingName = '{AzureContract.RowsPerShardSetting}'", source, StringComparison.Ordinal);
        Assert.Contains($"var bytesPerShardSettingName = '{AzureContract.BytesPerShardSetting}'", source, StringComparison.Ordinal);
        Assert.Contains($"var predictionsContainer = '{AzureContract.PredictionsContainer}'", source, StringComparison.Ordinal);
        Assert.Contains($"var streamStateContainer = '{AzureContract.StreamStateContainer}'", source, StringComparison.Ordinal);
        Assert.Contains($"var streamEventsContainer = '{AzureContract.StreamEventsContainer}'", source, StringComparison.Ordinal);
        Assert.Contains($"var streamAlertsQueue = '{AzureContract.StreamAlertsQueue}'", source, StringComparison.Ordinal);
    }

    [Fact]
    public void CompiledTemplate_AdapterNames_AreTheContractValues()
    {
        var variables = bicep.Template["variables"]!;

        Assert.Equal(AzureContract.StorageConnection, variables["storageConnectionName"]!.GetValue<string>());
        Assert.Equal(AzureContract.ModelsContainer, variables["modelsContainer"]!.GetValue<string>());
        Assert.Equal(AzureContract.IncomingContainer, variables["incomingContainer"]!.GetValue<string>());
        Assert.Equal(AzureContract.OutgoingContainer, variables["outgoingContainer"]!.GetValue<string>());
        Assert.Equal(AzureContract.FailedContainer, variables["failedContainer"]!.GetValue<string>());
        Assert.Equal(AzureContract.DeadLetterContainer, variables["deadLetterContainer"]!.GetValue<string>());
        Assert.Equal(AzureContract.CaptureContainer, variables["captureContainer"]!.GetValue<string>());
        Assert.Equal(AzureContract.ScoreBlobFunction, variables["scoreBlobFunction"]!.GetValue<string>());
        Assert.Equal(AzureContract.WarmupModelsSetting, variables["warmupModelsSettingName"]!.GetValue<string>());
        Assert.Equal(AzureContract.InstanceMemorySetting, variables["instanceMemorySettingName"]!.GetValue<string>());
        Assert.Equal(AzureContract.SweepScheduleSetting, variables["sweepScheduleSettingName"]!.GetValue<string>());
        Assert.Equal(AzureContract.SweepAfterMinutesSetting, variables["sweepAfterMinutesSettingName"]!.GetValue<string>());
        Assert.Equal(AzureContract.ScoreShardFunction, variables["scoreShardFunction"]!.GetValue<string>());
        Assert.Equal(AzureContract.ShardQueue, variables["shardQueue"]!.GetValue<string>());
        Assert.Equal(AzureContract.ShardPoisonQueue, variables["shardPoisonQueue"]!.GetValue<string>());
        Assert.Equal(AzureContract.ShardMinBytesSetting, variables["shardMinBytesSettingName"]!.GetValue<string>());
        Assert.Equal(AzureContract.RowsPerShardSetting, variables["rowsPerShardSettingName"]!.GetValue<string>());
        Assert.Equal(AzureContract.BytesPerShardSetting, variables["bytesPerShardSettingName"]!.GetValue<string>());
        Assert.Equal(AzureContract.PredictionsContainer, variables["predictionsContainer"]!.GetValue<string>());
        Assert.Equal(AzureContract.StreamStateContainer, variables["streamStateContainer"]!.GetValue<string>());
        Assert.Equal(AzureContract.StreamEventsContainer, variables["streamEventsContainer"]!.GetValue<string>());
        Assert.Equal(AzureContract.StreamAlertsQueue, variables["streamAlertsQueue"]!.GetValue<string>());
    }

    [Fact]
    public void CompiledTemplate_ContractSettings_ReachTheAppUnderTheirContractNames()
    {
        var names = ArmTemplate.Single(bicep.Template, "Microsoft.Web/sites").Properties!["siteConfig"]!["appSettings"]!.AsArray()
            .Select(s => ArmExpression.ModuleParameterValue(bicep.Template, "function-app", s!["name"]!.GetValue<string>()))
            .ToHashSet();

        Assert.Contains(AzureContract.WarmupModelsSetting, names);
        Assert.Contains(AzureContract.InstanceMemorySetting, names);
        Assert.Contains(AzureContract.SweepScheduleSetting, names);
        Assert.Contains(AzureContract.SweepAfterMinutesSetting, names);
        Assert.Contains(AzureContract.ShardMinBytesSetting, names);
        Assert.Contains(AzureContract.RowsPerShardSetting, names);
        Assert.Contains(AzureContract.BytesPerShardSetting, names);
    }

    /// <summary>The queues the app sends to and is triggered by are the ones the template creates and grants.</summary>
    [Fact]
    public void CompiledTemplate_ShardQueues_CreatedInTheDataAccountAndGrantedToTheApp()
    {
        var dataQueues = ArmTemplate.Module(bicep.Template, "data-storage")["properties"]!["parameters"]!["queues"]!["value"]!.AsArray()
            .Select(n => ArmExpression.MainVariable(bicep.Template, n!.GetValue<string>()));

        Assert.Contains(AzureContract.ShardQueue, dataQueues);
        Assert.Contains(AzureContract.ShardPoisonQueue, dataQueues);
        Assert.Equal(AzureContract.ShardQueue, ArmExpression.MainVariable(bicep.Template, ArmExpression.ModuleParameter(bicep.Template, "role-assignments", "shardQueueName")));
        Assert.Equal(AzureContract.ShardPoisonQueue, ArmExpression.MainVariable(bicep.Template, ArmExpression.ModuleParameter(bicep.Template, "role-assignments", "shardPoisonQueueName")));
        // The queue trigger moves messages it gives up on to "<queue>-poison": the template's poison queue must be that one.
        Assert.Equal(AzureContract.ShardQueue + "-poison", AzureContract.ShardPoisonQueue);
    }

    [Fact]
    public void CompiledTemplate_DeadLetterContainer_IsCreatedAndNamedInTheSubscription()
    {
        var dataContainers = ArmTemplate.Module(bicep.Template, "data-storage")["properties"]!["parameters"]!["containers"]!["value"]!.AsArray()
            .Select(n => ArmExpression.MainVariable(bicep.Template, n!.GetValue<string>()));

        Assert.Contains(AzureContract.DeadLetterContainer, dataContainers);
        Assert.Equal(AzureContract.DeadLetterContainer, ArmExpression.MainVariable(bicep.Template, ArmExpression.ModuleParameter(bicep.Template, "blob-events-subscription", "deadLetterContainerName")));
        Assert.Equal(AzureContract.DeadLetterContainer, ArmExpression.MainVariable(bicep.Template, ArmExpression.ModuleParameter(bicep.Template, "role-assignments", "deadLetterContainerName")));
    }

    [Fact]
    public void HttpApi_RoutePrefix_IsTheOneBothAdaptersServe()
    {
        Assert.Equal(AzureContract.RoutePrefix, InferenceHttpApi.RoutePrefix);
    }

    [Fact]
    public void LambdaContract_Prefixes_AreDistinctFoldersOfOneBucket()
    {
        string[] prefixes = [LambdaContract.ModelsPrefix, LambdaContract.IncomingPrefix, LambdaContract.OutgoingPrefix, LambdaContract.FailedPrefix];

        Assert.All(prefixes, p => Assert.EndsWith("/", p, StringComparison.Ordinal));
        // Results must never land under the notified prefix, or a scored file would trigger again.
        Assert.All(prefixes.Except([LambdaContract.IncomingPrefix]), p => Assert.False(p.StartsWith(LambdaContract.IncomingPrefix, StringComparison.Ordinal)));
        Assert.Equal(prefixes.Length, prefixes.Distinct(StringComparer.Ordinal).Count());
    }
}

using System.Text.Json.Nodes;
using Serverless.Functions.Azure;
using Serverless.Infra.Tests.Support;

namespace Serverless.Infra.Tests.Azure;

[Collection(BicepCollection.Name)]
public sealed class BicepTemplateTests(BicepFixture bicep)
{

    [Fact]
    public void Build_MainTemplate_CompilesWithoutDiagnostics()
    {
        Assert.True(bicep.Build.ExitCode == 0, bicep.Build.ToString());
        Assert.DoesNotContain("Warning", bicep.Build.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Error", bicep.Build.Output, StringComparison.Ordinal);
        Assert.NotNull(bicep.Template["resources"]);
    }

    [Fact]
    public void Lint_MainTemplateAndModules_ReportsNothing()
    {
        Assert.True(bicep.Lint.ExitCode == 0, bicep.Lint.ToString());
        Assert.True(bicep.Lint.Output.Trim().Length == 0, bicep.Lint.ToString());
    }

    [Fact]
    public void StorageAccounts_HostAndData_BothIdentityOnlyHttpsTls12NoPublicBlobs()
    {
        var accounts = ArmTemplate.OfType(bicep.Template, "Microsoft.Storage/storageAccounts");

        // The same module twice: the Functions host's account and the inference data account.
        Assert.Equal(["data-storage", "host-storage"], accounts.Select(a => a.Module).Order(StringComparer.Ordinal));
        Assert.All(accounts, account =>
        {
            var properties = account.Properties!;
            Assert.False(properties["allowSharedKeyAccess"]!.GetValue<bool>());
            Assert.True(properties["supportsHttpsTrafficOnly"]!.GetValue<bool>());
            Assert.Equal("TLS1_2", properties["minimumTlsVersion"]!.GetValue<string>());
            Assert.False(properties["allowBlobPublicAccess"]!.GetValue<bool>());
            Assert.True(properties["defaultToOAuthAuthentication"]!.GetValue<bool>());
        });
        Assert.NotEqual(
            ArmExpression.ModuleParameter(bicep.Template, "host-storage", "name"),
            ArmExpression.ModuleParameter(bicep.Template, "data-storage", "name"));
    }

    [Fact]
    public void Template_Secrets_NoAccountKeysOrConnectionStringsAnywhere()
    {
        Assert.DoesNotContain("AccountKey", bicep.TemplateText, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Microsoft.Storage/storageAccounts', parameters('storageAccountName')), '", bicep.TemplateText, StringComparison.Ordinal);
        Assert.DoesNotContain("listKeys(resourceId('Microsoft.Storage", bicep.TemplateText, StringComparison.Ordinal);
        Assert.DoesNotContain("\"AzureWebJobsStorage\"", bicep.TemplateText, StringComparison.Ordinal);
    }

    [Fact]
    public void Containers_DataAccount_AdapterContainersDeadLetterAndThePoisonQueue()
    {
        var containers = StorageModuleList("data-storage", "containers");
        var queues = StorageModuleList("data-storage", "queues");

        Assert.Equal(
            [
                AzureContract.ModelsContainer, AzureContract.IncomingContainer, AzureContract.OutgoingContainer, AzureContract.FailedContainer, AzureContract.DeadLetterContainer,
                AzureContract.PredictionsContainer, AzureContract.StreamStateContainer, AzureContract.StreamEventsContainer,
                AzureContract.CaptureContainer,
            ],
            containers);
        // Created by the template so the app's roles can be scoped to each queue.
        Assert.Equal(["webjobs-blobtrigger-poison", AzureContract.ShardQueue, AzureContract.ShardPoisonQueue, AzureContract.StreamAlertsQueue], queues);
    }

    [Fact]
    public void Containers_HostAccount_OnlyTheDeploymentPackage()
    {
        var containers = StorageModuleList("host-storage", "containers");

        Assert.StartsWith("[format('app-package-", Assert.Single(containers), StringComparison.Ordinal);
        Assert.Null(ArmTemplate.Module(bicep.Template, "host-storage")["properties"]!["parameters"]!["queues"]);
    }

    [Fact]
    public void Containers_Module_PrivateContainersAndQueuesFromItsLists()
    {
        var containers = ArmTemplate.OfType(bicep.Template, "Microsoft.Storage/storageAccounts/blobServices/containers");
        var queues = ArmTemplate.OfType(bicep.Template, "Microsoft.Storage/storageAccounts/queueServices/queues");

        Assert.All(containers, c =>
        {
            Assert.Equal("[length(parameters('containers'))]", c.Json["copy"]!["count"]!.GetValue<string>());
            Assert.Equal("None", c.Properties!["publicAccess"]!.GetValue<string>());
        });
        Assert.All(queues, q => Assert.Equal("[length(parameters('queues'))]", q.Json["copy"]!["count"]!.GetValue<string>()));
        Assert.Equal(2, containers.Count);
    }

    [Fact]
    public void Plan_Sku_IsFlexConsumptionFc1OnLinux()
    {
        var plan = ArmTemplate.Single(bicep.Template, "Microsoft.Web/serverfarms");

        Assert.Equal("FC1", plan.Json["sku"]!["name"]!.GetValue<string>());
        Assert.Equal("FlexConsumption", plan.Json["sku"]!["tier"]!.GetValue<string>());
        Assert.True(plan.Properties!["reserved"]!.GetValue<bool>());
    }

    [Fact]
    public void FunctionApp_Config_DotnetIsolatedScaledByParametersDeployedWithIdentity()
    {
        var site = FunctionApp();
        var config = site.Properties!["functionAppConfig"]!;

        Assert.Equal("functionapp,linux", site.Json["kind"]!.GetValue<string>());
        Assert.Equal("dotnet-isolated", config["runtime"]!["name"]!.GetValue<string>());
        Assert.Equal("[parameters('runtimeVersion')]", config["runtime"]!["version"]!.GetValue<string>());
        Assert.Equal("[parameters('instanceMemoryMB')]", config["scaleAndConcurrency"]!["instanceMemoryMB"]!.GetValue<string>());
        Assert.Equal("[parameters('maximumInstanceCount')]", config["scaleAndConcurrency"]!["maximumInstanceCount"]!.GetValue<string>());
        Assert.Equal("[variables('alwaysReady')]", config["scaleAndConcurrency"]!["alwaysReady"]!.GetValue<string>());
        // Always-ready groups: "http" for the HTTP functions, "blob" for Event Grid blob triggers; a count of 0 drops the group.
        var alwaysReady = site.Variable("alwaysReady")!.GetValue<string>();
        Assert.Contains("createObject('name', 'http', 'instanceCount', parameters('alwaysReadyHttpInstances'))", alwaysReady, StringComparison.Ordinal);
        Assert.Contains("createObject('name', 'blob', 'instanceCount', parameters('alwaysReadyBlobInstances'))", alwaysReady, StringComparison.Ordinal);
        // The queue-triggered shard worker scales in its own instances, as the group "function:<name>".
        Assert.Contains("createObject('name', format('function:{0}', parameters('shardFunctionName')), 'instanceCount', parameters('alwaysReadyShardInstances'))", alwaysReady, StringComparison.Ordinal);
        Assert.Equal(AzureContract.ScoreShardFunction, ResolveVariable(ArmExpression.ModuleParameter(bicep.Template, "function-app", "shardFunctionName")));
        Assert.Equal("[parameters('alwaysReadyShardInstances')]", ArmExpression.ModuleParameter(bicep.Template, "function-app", "alwaysReadyShardInstances"));
        Assert.Contains("greater(lambdaVariables('group').instanceCount, 0)", alwaysReady, StringComparison.Ordinal);
        Assert.Equal("blobContainer", config["deployment"]!["storage"]!["type"]!.GetValue<string>());
        Assert.Equal("UserAssignedIdentity", config["deployment"]!["storage"]!["authentication"]!["type"]!.GetValue<string>());
        // The package lives in the host account, beside AzureWebJobsStorage, not with the data.
        Assert.Equal("[parameters('deploymentContainerUrl')]", config["deployment"]!["storage"]!["value"]!.GetValue<string>());
        var packageUrl = ArmExpression.ModuleParameter(bicep.Template, "function-app", "deploymentContainerUrl");
        Assert.Equal(("host-storage", "blobEndpoint"), ArmExpression.ModuleOutput(packageUrl));
        Assert.EndsWith(", variables('deploymentContainer'))]", packageUrl, StringComparison.Ordinal);
        Assert.True(site.Properties["httpsOnly"]!.GetValue<bool>());
        Assert.Equal("1.2", site.Properties["siteConfig"]!["minTlsVersion"]!.GetValue<string>());
        Assert.Equal("UserAssigned", site.Json["identity"]!["type"]!.GetValue<string>());
    }

    [Fact]
    public void FunctionApp_PublishingCredentials_BasicAuthDisabled()
    {
        var policies = ArmTemplate.OfType(bicep.Template, "Microsoft.Web/sites/basicPublishingCredentialsPolicies");

        Assert.Equal(2, policies.Count);
        Assert.All(policies, policy => Assert.False(policy.Properties!["allow"]!.GetValue<bool>()));
    }

    [Fact]
    public void FunctionApp_Settings_HostStorageInTheHostAccountInferenceStorageInTheDataAccount()
    {
        var settings = AppSettings();

        Assert.Equal(("host-storage", "blobEndpoint"), SettingSource(settings["AzureWebJobsStorage__blobServiceUri"]));
        Assert.Equal(("host-storage", "queueEndpoint"), SettingSource(settings["AzureWebJobsStorage__queueServiceUri"]));
        Assert.Equal(("host-storage", "tableEndpoint"), SettingSource(settings["AzureWebJobsStorage__tableServiceUri"]));
        Assert.Equal("managedidentity", settings["AzureWebJobsStorage__credential"]);
        Assert.Equal("[parameters('identityClientId')]", settings["AzureWebJobsStorage__clientId"]);
        Assert.Equal(("data-storage", "blobEndpoint"), SettingSource(settings[$"{AzureContract.StorageConnection}__blobServiceUri"]));
        Assert.Equal(("data-storage", "queueEndpoint"), SettingSource(settings[$"{AzureContract.StorageConnection}__queueServiceUri"]));
        Assert.Equal("managedidentity", settings[$"{AzureContract.StorageConnection}__credential"]);
        Assert.Equal("[parameters('identityClientId')]", settings[$"{AzureContract.StorageConnection}__clientId"]);
        Assert.Equal("[parameters('warmupModels')]", settings[AzureContract.WarmupModelsSetting]);
        Assert.DoesNotContain("AzureWebJobsStorage__accountName", settings.Keys);
        Assert.DoesNotContain("AzureWebJobsStorage", settings.Keys);
        Assert.DoesNotContain("FUNCTIONS_WORKER_RUNTIME", settings.Keys);
    }

    [Fact]
    public void FunctionApp_Settings_InstanceMemoryAndSweepFromParameters()
    {
        var settings = AppSettings();
        var parameters = bicep.Template["parameters"]!;

        Assert.Equal("[string(parameters('instanceMemoryMB'))]", settings[AzureContract.InstanceMemorySetting]);
        Assert.Equal("[parameters('instanceMemoryMB')]", ArmExpression.ModuleParameter(bicep.Template, "function-app", "instanceMemoryMB"));
        Assert.Equal("[parameters('sweepSchedule')]", settings[AzureContract.SweepScheduleSetting]);
        Assert.Equal("[parameters('sweepSchedule')]", ArmExpression.ModuleParameter(bicep.Template, "function-app", "sweepSchedule"));
        Assert.Equal("[string(parameters('sweepAfterMinutes'))]", settings[AzureContract.SweepAfterMinutesSetting]);
        Assert.Equal("[parameters('sweepAfterMinutes')]", ArmExpression.ModuleParameter(bicep.Template, "function-app", "sweepAfterMinutes"));
        Assert.Equal("0 */15 * * * *", parameters["sweepSchedule"]!["defaultValue"]!.GetValue<string>());
        Assert.Equal(15, parameters["sweepAfterMinutes"]!["defaultValue"]!.GetValue<int>());
        Assert.Equal(1, parameters["sweepAfterMinutes"]!["minValue"]!.GetValue<int>());
        Assert.Equal(1440, parameters["sweepAfterMinutes"]!["maxValue"]!.GetValue<int>());
    }

    [Theory]
    [InlineData(AzureContract.ShardMinBytesSetting, "shardMinBytes")]
    [InlineData(AzureContract.RowsPerShardSetting, "rowsPerShard")]
    [InlineData(AzureContract.BytesPerShardSetting, "bytesPerShard")]
    public void FunctionApp_Settings_ShardingFromParametersZeroPassedEmptyForTheAppsDefault(string setting, string parameter)
    {
        var settings = AppSettings();
        var parameters = bicep.Template["parameters"]!;

        Assert.Equal($"[if(greater(parameters('{parameter}'), 0), string(parameters('{parameter}')), '')]", settings[setting]);
        Assert.Equal($"[parameters('{parameter}')]", ArmExpression.ModuleParameter(bicep.Template, "function-app", parameter));
        Assert.Equal(0, parameters[parameter]!["defaultValue"]!.GetValue<int>());
        Assert.Equal(0, parameters[parameter]!["minValue"]!.GetValue<int>());
    }

    [Fact]
    public void ApplicationInsights_Telemetry_OnlyThroughEntraAuthentication()
    {
        var insights = ArmTemplate.Single(bicep.Template, "Microsoft.Insights/components");
        var settings = AppSettings();

        Assert.True(insights.Properties!["DisableLocalAuth"]!.GetValue<bool>());
        Assert.Equal("[format('ClientId={0};Authorization=AAD', parameters('identityClientId'))]", settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]);
        Assert.Contains("APPLICATIONINSIGHTS_CONNECTION_STRING", settings.Keys);
    }

    [Fact]
    public void RoleAssignments_Module_AppGetsTheUserAssignedIdentityPrincipal()
    {
        var module = ArmTemplate.Module(bicep.Template, "role-assignments");

        Assert.Contains("'identity'", module["properties"]!["parameters"]!["appPrincipalId"]!["value"]!.ToString(), StringComparison.Ordinal);
        Assert.Contains(".outputs.principalId.value", module["properties"]!["parameters"]!["appPrincipalId"]!["value"]!.ToString(), StringComparison.Ordinal);
        Assert.Single(ArmTemplate.OfType(bicep.Template, "Microsoft.ManagedIdentity/userAssignedIdentities"));
    }

    [Fact]
    public void EventGrid_SystemTopic_WatchesTheDataAccountWithItsOwnIdentity()
    {
        var topic = ArmTemplate.Single(bicep.Template, "Microsoft.EventGrid/systemTopics");

        Assert.Equal("Microsoft.Storage.StorageAccounts", topic.Properties!["topicType"]!.GetValue<string>());
        Assert.Equal("[parameters('storageAccountId')]", topic.Properties["source"]!.GetValue<string>());
        Assert.Equal(("data-storage", "id"), ArmExpression.ModuleOutput(ArmExpression.ModuleParameter(bicep.Template, "blob-events-topic", "storageAccountId")));
        Assert.Equal("SystemAssigned", topic.Json["identity"]!["type"]!.GetValue<string>());
    }

    [Fact]
    public void EventGrid_Subscription_SecondStageDeliversIncomingBlobCreatedToScoreBlob()
    {
        var module = ArmTemplate.Module(bicep.Template, "blob-events-subscription");
        var subscription = ArmTemplate.Single(bicep.Template, "Microsoft.EventGrid/systemTopics/eventSubscriptions");
        var parameters = module["properties"]!["parameters"]!;
        var filter = subscription.Properties!["filter"]!;
        var destination = subscription.Properties["destination"]!;

        Assert.Equal("[parameters('subscribeBlobEvents')]", module["condition"]!.GetValue<string>());
        Assert.Equal(AzureContract.ScoreBlobFunction, ResolveVariable(parameters["functionName"]!["value"]!.GetValue<string>()));
        Assert.Equal(AzureContract.IncomingContainer, ResolveVariable(parameters["containerName"]!["value"]!.GetValue<string>()));
        Assert.Equal(["Microsoft.Storage.BlobCreated"], filter["includedEventTypes"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal("[format('/blobServices/default/containers/{0}/', parameters('containerName'))]", filter["subjectBeginsWith"]!.GetValue<string>());
        Assert.Equal("WebHook", destination["endpointType"]!.GetValue<string>());
        var endpoint = destination["properties"]!["endpointUrl"]!.GetValue<string>();
        Assert.Contains("/runtime/webhooks/blobs?functionName=Host.Functions.{1}&code={2}", endpoint, StringComparison.Ordinal);
        Assert.Contains("listKeys(format('{0}/host/default'", endpoint, StringComparison.Ordinal);
        Assert.EndsWith(".systemKeys.blobs_extension)]", endpoint, StringComparison.Ordinal);
    }

    [Fact]
    public void EventGrid_Subscription_DeadLettersToTheDataAccountWithTheTopicIdentity()
    {
        var subscription = ArmTemplate.Single(bicep.Template, "Microsoft.EventGrid/systemTopics/eventSubscriptions").Properties!;
        var deadLetter = subscription["deadLetterWithResourceIdentity"]!;
        var destination = deadLetter["deadLetterDestination"]!;

        Assert.Equal("SystemAssigned", deadLetter["identity"]!["type"]!.GetValue<string>());
        Assert.Equal("StorageBlob", destination["endpointType"]!.GetValue<string>());
        Assert.Equal("[parameters('deadLetterStorageAccountId')]", destination["properties"]!["resourceId"]!.GetValue<string>());
        Assert.Equal(("data-storage", "id"), ArmExpression.ModuleOutput(ArmExpression.ModuleParameter(bicep.Template, "blob-events-subscription", "deadLetterStorageAccountId")));
        Assert.Equal(
            AzureContract.DeadLetterContainer,
            ArmExpression.ModuleParameterValue(bicep.Template, "blob-events-subscription", destination["properties"]!["blobContainerName"]!.GetValue<string>()));
        // Never the key-based form: the account allows no shared keys.
        Assert.Null(subscription["deadLetterDestination"]);
    }

    [Fact]
    public void EventGrid_Subscription_RetryPolicyFromBoundedParameters()
    {
        var retry = ArmTemplate.Single(bicep.Template, "Microsoft.EventGrid/systemTopics/eventSubscriptions").Properties!["retryPolicy"]!;
        var parameters = bicep.Template["parameters"]!;

        Assert.Equal("[parameters('maxDeliveryAttempts')]", retry["maxDeliveryAttempts"]!.GetValue<string>());
        Assert.Equal("[parameters('eventTimeToLiveInMinutes')]", retry["eventTimeToLiveInMinutes"]!.GetValue<string>());
        Assert.Equal("[parameters('eventMaxDeliveryAttempts')]", ArmExpression.ModuleParameter(bicep.Template, "blob-events-subscription", "maxDeliveryAttempts"));
        Assert.Equal("[parameters('eventTimeToLiveInMinutes')]", ArmExpression.ModuleParameter(bicep.Template, "blob-events-subscription", "eventTimeToLiveInMinutes"));
        Assert.Equal(10, parameters["eventMaxDeliveryAttempts"]!["defaultValue"]!.GetValue<int>());
        Assert.Equal(1, parameters["eventMaxDeliveryAttempts"]!["minValue"]!.GetValue<int>());
        Assert.Equal(30, parameters["eventMaxDeliveryAttempts"]!["maxValue"]!.GetValue<int>());
        Assert.Equal(1440, parameters["eventTimeToLiveInMinutes"]!["defaultValue"]!.GetValue<int>());
        Assert.Equal(1440, parameters["eventTimeToLiveInMinutes"]!["maxValue"]!.GetValue<int>());
    }

    [Fact]
    public void Outputs_InferenceBaseUrl_UsesTheAdapterRoutePrefix()
    {
        Assert.Equal(AzureContract.RoutePrefix, bicep.Template["variables"]!["routePrefix"]!.GetValue<string>());
        Assert.Contains("variables('routePrefix')", bicep.Template["outputs"]!["inferenceBaseUrl"]!["value"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public void Outputs_StorageAccountName_IsTheDataAccountWhereUsersUpload()
    {
        var outputs = bicep.Template["outputs"]!;

        Assert.Equal(("data-storage", "name"), ArmExpression.ModuleOutput(outputs["storageAccountName"]!["value"]!.GetValue<string>()));
        Assert.Equal(("host-storage", "name"), ArmExpression.ModuleOutput(outputs["hostStorageAccountName"]!["value"]!.GetValue<string>()));
    }

    [Fact]
    public void Parameters_Decorators_BoundRuntimeMemoryAndInstanceCounts()
    {
        var parameters = bicep.Template["parameters"]!;

        Assert.Equal(["8.0", "9.0", "10.0"], parameters["runtimeVersion"]!["allowedValues"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal([512, 2048, 4096], parameters["instanceMemoryMB"]!["allowedValues"]!.AsArray().Select(n => n!.GetValue<int>()));
        Assert.Equal(40, parameters["maximumInstanceCount"]!["minValue"]!.GetValue<int>());
        Assert.Equal(1000, parameters["maximumInstanceCount"]!["maxValue"]!.GetValue<int>());
        Assert.Equal(0, parameters["alwaysReadyHttpInstances"]!["minValue"]!.GetValue<int>());
        Assert.Equal(0, parameters["alwaysReadyBlobInstances"]!["minValue"]!.GetValue<int>());
        Assert.Equal((0, 1000, 0), (parameters["alwaysReadyShardInstances"]!["minValue"]!.GetValue<int>(), parameters["alwaysReadyShardInstances"]!["maxValue"]!.GetValue<int>(), parameters["alwaysReadyShardInstances"]!["defaultValue"]!.GetValue<int>()));
        Assert.False(parameters["subscribeBlobEvents"]!["defaultValue"]!.GetValue<bool>());
    }

    /// <summary>Publishers reach the stream topic with Entra tokens only, and send CloudEvents 1.0.</summary>
    [Fact]
    public void EventGrid_StreamTopic_CloudEventsInEntraOnlyWithItsOwnIdentity()
    {
        var topic = ArmTemplate.Single(bicep.Template, "Microsoft.EventGrid/topics");

        Assert.Equal("stream-topic", topic.Module);
        Assert.Equal("CloudEventSchemaV1_0", topic.Properties!["inputSchema"]!.GetValue<string>());
        Assert.True(topic.Properties["disableLocalAuth"]!.GetValue<bool>());
        Assert.Equal("1.2", topic.Properties["minimumTlsVersionAllowed"]!.GetValue<string>());
        Assert.Equal("SystemAssigned", topic.Json["identity"]!["type"]!.GetValue<string>());
        Assert.Contains("streamTopicEndpoint", bicep.Template["outputs"]!.AsObject().Select(o => o.Key));
    }

    [Fact]
    public void EventGrid_StreamSubscription_SecondStageCloudEventBatchesToTheStreamRouteWithTheFunctionKey()
    {
        var module = ArmTemplate.Module(bicep.Template, "stream-subscription");
        var subscription = ArmTemplate.Single(bicep.Template, "Microsoft.EventGrid/topics/eventSubscriptions");
        var parameters = module["properties"]!["parameters"]!;
        var destination = subscription.Properties!["destination"]!;
        var endpoint = destination["properties"]!["endpointUrl"]!.GetValue<string>();

        Assert.Equal("[parameters('subscribeStreamEvents')]", module["condition"]!.GetValue<string>());
        Assert.False(bicep.Template["parameters"]!["subscribeStreamEvents"]!["defaultValue"]!.GetValue<bool>());
        Assert.Equal("CloudEventSchemaV1_0", subscription.Properties["eventDeliverySchema"]!.GetValue<string>());
        Assert.Equal("WebHook", destination["endpointType"]!.GetValue<string>());
        // https://<host>/<routePrefix>/streams/<model>?code=<the host's default function key, read by listKeys in the deployment>
        Assert.StartsWith($"[format('https://{{0}}/{{1}}/{AzureContract.StreamRoute.Replace("{model}", "{2}", StringComparison.Ordinal)}?code={{3}}'", endpoint, StringComparison.Ordinal);
        Assert.Contains("listKeys(format('{0}/host/default'", endpoint, StringComparison.Ordinal);
        Assert.EndsWith(".functionKeys.default)]", endpoint, StringComparison.Ordinal);
        Assert.Equal(AzureContract.RoutePrefix, ResolveVariable(parameters["routePrefix"]!["value"]!.GetValue<string>()));
        Assert.Equal("[parameters('streamModel')]", parameters["model"]!["value"]!.GetValue<string>());
        Assert.Equal(("stream-topic", "name"), ArmExpression.ModuleOutput(parameters["topicName"]!["value"]!.GetValue<string>()));
    }

    /// <summary>Batches no bigger than the webhook reads; retries bounded; dead letters kept with the topic's identity.</summary>
    [Fact]
    public void EventGrid_StreamSubscription_BatchingRetryAndDeadLetterWithTheTopicsIdentity()
    {
        var module = ArmTemplate.Module(bicep.Template, "stream-subscription");
        var subscription = ArmTemplate.Single(bicep.Template, "Microsoft.EventGrid/topics/eventSubscriptions");
        var main = bicep.Template["parameters"]!;
        var parameters = module["properties"]!["parameters"]!;
        var webhook = subscription.Properties!["destination"]!["properties"]!;
        var deadLetter = subscription.Properties["deadLetterWithResourceIdentity"]!;

        Assert.Equal("[parameters('maxEventsPerBatch')]", webhook["maxEventsPerBatch"]!.GetValue<string>());
        Assert.Equal("[parameters('preferredBatchSizeInKilobytes')]", webhook["preferredBatchSizeInKilobytes"]!.GetValue<string>());
        Assert.Equal((1, 5000), (main["streamMaxEventsPerBatch"]!["minValue"]!.GetValue<int>(), main["streamMaxEventsPerBatch"]!["maxValue"]!.GetValue<int>()));
        Assert.Equal(1024, main["streamPreferredBatchSizeInKilobytes"]!["maxValue"]!.GetValue<int>());
        Assert.Equal("[parameters('streamMaxEventsPerBatch')]", parameters["maxEventsPerBatch"]!["value"]!.GetValue<string>());
        Assert.Equal("[parameters('streamPreferredBatchSizeInKilobytes')]", parameters["preferredBatchSizeInKilobytes"]!["value"]!.GetValue<string>());
        Assert.Equal("[parameters('maxDeliveryAttempts')]", subscription.Properties["retryPolicy"]!["maxDeliveryAttempts"]!.GetValue<string>());
        Assert.Equal("[parameters('eventTimeToLiveInMinutes')]", subscription.Properties["retryPolicy"]!["eventTimeToLiveInMinutes"]!.GetValue<string>());
        Assert.Equal("[parameters('streamMaxDeliveryAttempts')]", parameters["maxDeliveryAttempts"]!["value"]!.GetValue<string>());
        Assert.Equal("[parameters('streamEventTimeToLiveInMinutes')]", parameters["eventTimeToLiveInMinutes"]!["value"]!.GetValue<string>());
        Assert.Equal(1440, main["streamEventTimeToLiveInMinutes"]!["maxValue"]!.GetValue<int>());
        Assert.Equal("SystemAssigned", deadLetter["identity"]!["type"]!.GetValue<string>());
        Assert.Equal("StorageBlob", deadLetter["deadLetterDestination"]!["endpointType"]!.GetValue<string>());
        Assert.Equal(("data-storage", "id"), ArmExpression.ModuleOutput(parameters["deadLetterStorageAccountId"]!["value"]!.GetValue<string>()));
        Assert.Equal(AzureContract.DeadLetterContainer, ResolveVariable(parameters["deadLetterContainerName"]!["value"]!.GetValue<string>()));
        Assert.Null(subscription.Properties["deadLetterDestination"]);
    }

    /// <summary>Delivery records outlive every retry (Event Grid keeps an event at most a day) and are then deleted.</summary>
    [Fact]
    public void Storage_StreamEventsRecords_ExpireAfterEventGridStopsRetrying()
    {
        var module = ArmTemplate.Module(bicep.Template, "stream-ledger-retention");
        var policy = ArmTemplate.Single(bicep.Template, "Microsoft.Storage/storageAccounts/managementPolicies");
        var rule = Assert.Single(policy.Properties!["policy"]!["rules"]!.AsArray())!;
        var parameters = module["properties"]!["parameters"]!;
        var retentionDays = parameters["retentionDays"]!["value"]!.GetValue<int>();

        Assert.Equal(["[format('{0}/', parameters('containerName'))]"], rule["definition"]!["filters"]!["prefixMatch"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(AzureContract.StreamEventsContainer, ResolveVariable(parameters["containerName"]!["value"]!.GetValue<string>()));
        Assert.Equal(("data-storage", "name"), ArmExpression.ModuleOutput(parameters["storageAccountName"]!["value"]!.GetValue<string>()));
        Assert.Equal("[parameters('retentionDays')]", rule["definition"]!["actions"]!["baseBlob"]!["delete"]!["daysAfterCreationGreaterThan"]!.GetValue<string>());
        Assert.True(TimeSpan.FromDays(retentionDays) > TimeSpan.FromMinutes(bicep.Template["parameters"]!["streamEventTimeToLiveInMinutes"]!["maxValue"]!.GetValue<int>()));
    }

    private ArmResource FunctionApp() => ArmTemplate.Single(bicep.Template, "Microsoft.Web/sites");

    private Dictionary<string, string> AppSettings() =>
        FunctionApp().Properties!["siteConfig"]!["appSettings"]!.AsArray()
            .ToDictionary(s => ResolveSettingName(s!["name"]!.GetValue<string>()), s => s!["value"]!.GetValue<string>());

    // "[parameters('hostBlobEndpoint')]" in the app's settings → the module and output main.bicep wired into it.
    private (string Module, string Output)? SettingSource(string value) =>
        ArmExpression.ModuleOutput(ArmExpression.ModuleParameterValue(bicep.Template, "function-app", value));

    // Setting names built from module parameters: "[format('{0}__blobServiceUri', parameters('storageConnectionName'))]",
    // or a whole name passed in, "[parameters('warmupModelsSettingName')]".
    private string ResolveSettingName(string name)
    {
        const string FormatPrefix = "[format('{0}";
        if (name.StartsWith(FormatPrefix, StringComparison.Ordinal))
        {
            return ArmExpression.ModuleParameterValue(bicep.Template, "function-app", "[parameters('storageConnectionName')]")
                + name[FormatPrefix.Length..name.IndexOf('\'', FormatPrefix.Length)];
        }

        return ArmExpression.ModuleParameterValue(bicep.Template, "function-app", name);
    }

    private string ResolveVariable(string expression) => ArmExpression.MainVariable(bicep.Template, expression);

    // A storage module's list parameter, each entry resolved to main.bicep's variable value.
    private List<string> StorageModuleList(string module, string parameter) =>
        [.. ArmTemplate.Module(bicep.Template, module)["properties"]!["parameters"]![parameter]!["value"]!.AsArray()
            .Select(node => ResolveVariable(node!.GetValue<string>()))];
}

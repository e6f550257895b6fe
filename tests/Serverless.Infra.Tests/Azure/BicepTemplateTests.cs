using System.Text.Json.Nodes;
using Serverless.Functions.Azure;
using Serverless.Infra.Tests.Support;

namespace Serverless.Infra.Tests.Azure;

public sealed class BicepTemplateTests(BicepFixture bicep) : IClassFixture<BicepFixture>
{
    private const string StorageBlobDataOwner = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b";
    private const string StorageQueueDataContributor = "974c5e8b-45b9-4653-ba55-5f855dd0fb88";
    private const string MonitoringMetricsPublisher = "3913510d-42f4-4e42-8a64-420c390055eb";
    private const string StorageBlobDataContributor = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";

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
    public void StorageAccount_Security_IdentityOnlyHttpsTls12NoPublicBlobs()
    {
        var account = ArmTemplate.Single(bicep.Template, "Microsoft.Storage/storageAccounts").Properties!;

        Assert.False(account["allowSharedKeyAccess"]!.GetValue<bool>());
        Assert.True(account["supportsHttpsTrafficOnly"]!.GetValue<bool>());
        Assert.Equal("TLS1_2", account["minimumTlsVersion"]!.GetValue<string>());
        Assert.False(account["allowBlobPublicAccess"]!.GetValue<bool>());
        Assert.True(account["defaultToOAuthAuthentication"]!.GetValue<bool>());
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
    public void Containers_Created_AdapterContainersPlusDeploymentContainer()
    {
        var storageModule = ArmTemplate.Module(bicep.Template, "storage");
        var dataContainers = storageModule["properties"]!["parameters"]!["dataContainers"]!["value"]!.AsArray()
            .Select(node => ResolveVariable(node!.GetValue<string>()))
            .ToHashSet();
        var containers = ArmTemplate.Single(bicep.Template, "Microsoft.Storage/storageAccounts/blobServices/containers");

        Assert.Equal(
            new HashSet<string> { AzureContract.ModelsContainer, AzureContract.IncomingContainer, AzureContract.OutgoingContainer, AzureContract.FailedContainer },
            dataContainers);
        // One copy loop over the data containers plus the deployment container, all private.
        Assert.Contains("concat(parameters('dataContainers'), createArray(parameters('deploymentContainer')))", containers.Json["copy"]!["count"]!.ToString(), StringComparison.Ordinal);
        Assert.Equal("None", containers.Properties!["publicAccess"]!.GetValue<string>());
        Assert.Equal("[variables('deploymentContainer')]", storageModule["properties"]!["parameters"]!["deploymentContainer"]!["value"]!.GetValue<string>());
        Assert.StartsWith("[format('app-package-", bicep.Template["variables"]!["deploymentContainer"]!.GetValue<string>(), StringComparison.Ordinal);
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
        Assert.Contains("greater(lambdaVariables('group').instanceCount, 0)", alwaysReady, StringComparison.Ordinal);
        Assert.Equal("blobContainer", config["deployment"]!["storage"]!["type"]!.GetValue<string>());
        Assert.Equal("UserAssignedIdentity", config["deployment"]!["storage"]!["authentication"]!["type"]!.GetValue<string>());
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
    public void FunctionApp_Settings_AdapterConnectionAndHostStorageUseTheIdentity()
    {
        var settings = AppSettings();

        Assert.Equal("[parameters('blobEndpoint')]", settings[$"{AzureContract.StorageConnection}__blobServiceUri"]);
        Assert.Equal("managedidentity", settings[$"{AzureContract.StorageConnection}__credential"]);
        Assert.Equal("[parameters('identityClientId')]", settings[$"{AzureContract.StorageConnection}__clientId"]);
        Assert.Equal("[parameters('storageAccountName')]", settings["AzureWebJobsStorage__accountName"]);
        Assert.Equal("managedidentity", settings["AzureWebJobsStorage__credential"]);
        Assert.Equal("[parameters('identityClientId')]", settings["AzureWebJobsStorage__clientId"]);
        Assert.Equal("[parameters('warmupModels')]", settings[AzureContract.WarmupModelsSetting]);
        Assert.DoesNotContain("AzureWebJobsStorage", settings.Keys);
        Assert.DoesNotContain("FUNCTIONS_WORKER_RUNTIME", settings.Keys);
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
    public void RoleAssignments_AppIdentity_ExactlyBlobOwnerQueueContributorMetricsPublisher()
    {
        var assignments = ArmTemplate.OfType(bicep.Template, "Microsoft.Authorization/roleAssignments");
        var appRoles = assignments
            .Where(a => a.Properties!["principalId"]!.ToString() == "[parameters('appPrincipalId')]")
            .Select(a => RoleId(a))
            .ToHashSet();
        var operatorAssignment = Assert.Single(assignments, a => a.Properties!["principalId"]!.ToString() == "[parameters('operatorPrincipalId')]");

        Assert.Equal(new HashSet<string> { StorageBlobDataOwner, StorageQueueDataContributor, MonitoringMetricsPublisher }, appRoles);
        Assert.All(assignments.Where(a => RoleId(a) != MonitoringMetricsPublisher), a => Assert.StartsWith("[resourceId('Microsoft.Storage/storageAccounts'", a.Scope, StringComparison.Ordinal));
        Assert.StartsWith("[resourceId('Microsoft.Insights/components'", Assert.Single(assignments, a => RoleId(a) == MonitoringMetricsPublisher).Scope, StringComparison.Ordinal);
        Assert.All(assignments, a => Assert.Equal("role-assignments", a.Module));
        Assert.Equal(StorageBlobDataContributor, RoleId(operatorAssignment));
        Assert.Equal("[not(empty(parameters('operatorPrincipalId')))]", operatorAssignment.Condition);
        Assert.Equal(4, assignments.Count);
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
    public void EventGrid_SystemTopic_WatchesTheStorageAccount()
    {
        var topic = ArmTemplate.Single(bicep.Template, "Microsoft.EventGrid/systemTopics");

        Assert.Equal("Microsoft.Storage.StorageAccounts", topic.Properties!["topicType"]!.GetValue<string>());
        Assert.Equal("[parameters('storageAccountId')]", topic.Properties["source"]!.GetValue<string>());
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
    public void Outputs_InferenceBaseUrl_UsesTheAdapterRoutePrefix()
    {
        Assert.Equal(AzureContract.RoutePrefix, bicep.Template["variables"]!["routePrefix"]!.GetValue<string>());
        Assert.Contains("variables('routePrefix')", bicep.Template["outputs"]!["inferenceBaseUrl"]!["value"]!.GetValue<string>(), StringComparison.Ordinal);
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
        Assert.False(parameters["subscribeBlobEvents"]!["defaultValue"]!.GetValue<bool>());
    }

    private ArmResource FunctionApp() => ArmTemplate.Single(bicep.Template, "Microsoft.Web/sites");

    private Dictionary<string, string> AppSettings() =>
        FunctionApp().Properties!["siteConfig"]!["appSettings"]!.AsArray()
            .ToDictionary(s => ResolveSettingName(s!["name"]!.GetValue<string>()), s => s!["value"]!.GetValue<string>());

    // Setting names built from the connection parameter: "[format('{0}__serviceUri', parameters('storageConnectionName'))]".
    private string ResolveSettingName(string name)
    {
        var module = ArmTemplate.Module(bicep.Template, "function-app")["properties"]!["parameters"]!;
        string Parameter(string parameter) => ResolveVariable(module[parameter]!["value"]!.GetValue<string>());
        const string FormatPrefix = "[format('{0}";
        if (name.StartsWith(FormatPrefix, StringComparison.Ordinal))
        {
            return Parameter("storageConnectionName") + name[FormatPrefix.Length..name.IndexOf('\'', FormatPrefix.Length)];
        }

        return name == "[parameters('warmupModelsSettingName')]" ? Parameter("warmupModelsSettingName") : name;
    }

    private string ResolveVariable(string expression) =>
        expression.StartsWith("[variables('", StringComparison.Ordinal)
            ? bicep.Template["variables"]![expression["[variables('".Length..^"')]".Length]]!.GetValue<string>()
            : expression;

    // "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', variables('roles').storageBlobDataOwner)]" → the GUID.
    private static string RoleId(ArmResource assignment)
    {
        var definition = assignment.Properties!["roleDefinitionId"]!.GetValue<string>();
        const string Marker = "variables('roles').";
        var start = definition.IndexOf(Marker, StringComparison.Ordinal) + Marker.Length;
        return assignment.Variable("roles")![definition[start..definition.IndexOf(')', start)]]!.GetValue<string>();
    }
}

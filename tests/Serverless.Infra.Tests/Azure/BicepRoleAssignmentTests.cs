using System.Text.RegularExpressions;
using Serverless.Functions.Azure;
using Serverless.Infra.Tests.Support;

namespace Serverless.Infra.Tests.Azure;

/// <summary>
/// Every role assignment of the compiled template, resolved to (principal, scope, role) with the scope written as
/// "module" (a whole account), "module/container" or "module/queues/queue", so the assertions read like the grant.
/// </summary>
[Collection(BicepCollection.Name)]
public sealed partial class BicepRoleAssignmentTests(BicepFixture bicep)
{
    private const string StorageBlobDataOwner = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b";
    private const string StorageBlobDataContributor = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";
    private const string StorageBlobDataReader = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1";
    private const string StorageQueueDataContributor = "974c5e8b-45b9-4653-ba55-5f855dd0fb88";
    private const string StorageTableDataContributor = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3";
    private const string MonitoringMetricsPublisher = "3913510d-42f4-4e42-8a64-420c390055eb";
    private const string StorageQueueDataMessageSender = "c6a89b2d-59bc-44d0-9896-0f6e12d7b80a";
    private const string EventGridDataSender = "d5a91429-5739-47e2-a06b-3470a27159e7";
    private const string CaptureWriter = "[resourceId('Microsoft.Authorization/roleDefinitions', guid(resourceGroup().id, 'capture-blob-writer'))]";

    private const string Module = "role-assignments";
    private const string HostAccount = "host-storage";
    private const string DataAccount = "data-storage";

    [Fact]
    public void RoleAssignments_AppIdentity_HostAccountWideDataAccountPerContainer()
    {
        var appGrants = Grants().Where(g => g.Principal == "app").Select(g => (g.Scope, g.Role)).ToHashSet();

        Assert.Equal(
            new HashSet<(string, string)>
            {
                (HostAccount, StorageBlobDataOwner),
                (HostAccount, StorageQueueDataContributor),
                (HostAccount, StorageTableDataContributor),
                ($"{DataAccount}/{AzureContract.ModelsContainer}", StorageBlobDataReader),
                ($"{DataAccount}/{AzureContract.IncomingContainer}", StorageBlobDataContributor),
                ($"{DataAccount}/{AzureContract.OutgoingContainer}", StorageBlobDataContributor),
                ($"{DataAccount}/{AzureContract.FailedContainer}", StorageBlobDataContributor),
                ($"{DataAccount}/{AzureContract.CaptureContainer}", CaptureWriter),
                ($"{DataAccount}/queues/webjobs-blobtrigger-poison", StorageQueueDataContributor),
                ($"{DataAccount}/queues/{AzureContract.ShardQueue}", StorageQueueDataContributor),
                ($"{DataAccount}/queues/{AzureContract.ShardPoisonQueue}", StorageQueueDataContributor),
                ($"{DataAccount}/{AzureContract.PredictionsContainer}", StorageBlobDataContributor),
                ($"{DataAccount}/{AzureContract.StreamStateContainer}", StorageBlobDataContributor),
                ($"{DataAccount}/{AzureContract.StreamEventsContainer}", StorageBlobDataContributor),
                ($"{DataAccount}/queues/{AzureContract.StreamAlertsQueue}", StorageQueueDataMessageSender),
                ("appinsights", MonitoringMetricsPublisher),
            },
            appGrants);
    }

    [Fact]
    public void RoleAssignments_DataAccount_NothingAccountWideAndNoOwner()
    {
        var grants = Grants();

        Assert.DoesNotContain(grants, g => g.Scope == DataAccount);
        Assert.All(grants.Where(g => g.Role == StorageBlobDataOwner), g => Assert.Equal(HostAccount, g.Scope));
    }

    /// <summary>Queue roles reach named queues only: on the data account never the whole queue service.</summary>
    [Fact]
    public void RoleAssignments_QueueRolesOnTheDataAccount_EachScopedToOneQueue()
    {
        var queueGrants = Grants().Where(g => g.Role == StorageQueueDataContributor && g.Scope.StartsWith(DataAccount, StringComparison.Ordinal)).ToList();

        Assert.Equal(3, queueGrants.Count);
        Assert.All(queueGrants, g => Assert.StartsWith($"{DataAccount}/queues/", g.Scope, StringComparison.Ordinal));
        Assert.All(queueGrants, g => Assert.Equal("app", g.Principal));
    }

    [Fact]
    public void RoleAssignments_EventGridTopic_ContributorOnTheDeadLetterContainerOnly()
    {
        var topicGrant = Assert.Single(Grants(), g => g.Principal == "topic");

        Assert.Equal(($"{DataAccount}/{AzureContract.DeadLetterContainer}", StorageBlobDataContributor), (topicGrant.Scope, topicGrant.Role));
        Assert.Equal(("blob-events-topic", "principalId"), ArmExpression.ModuleOutput(ArmExpression.ModuleParameter(bicep.Template, Module, "eventGridPrincipalId")));
        Assert.Null(topicGrant.Condition);
    }

    /// <summary>The stream topic's own identity writes its dead letters; publishing is an Entra role, granted only when asked for.</summary>
    [Fact]
    public void RoleAssignments_StreamTopic_DeadLetterContributorAndAnOptionalPublisher()
    {
        var topicGrant = Assert.Single(Grants(), g => g.Principal == "stream-topic");
        var publisherGrant = Assert.Single(Grants(), g => g.Principal == "publisher");

        Assert.Equal(($"{DataAccount}/{AzureContract.DeadLetterContainer}", StorageBlobDataContributor, null), (topicGrant.Scope, topicGrant.Role, topicGrant.Condition));
        Assert.Equal(("stream-topic", "principalId"), ArmExpression.ModuleOutput(ArmExpression.ModuleParameter(bicep.Template, Module, "streamTopicPrincipalId")));
        Assert.Equal(("stream-topic", EventGridDataSender), (publisherGrant.Scope, publisherGrant.Role));
        Assert.Equal("[not(empty(parameters('streamPublisherPrincipalId')))]", publisherGrant.Condition);
        Assert.Equal("[parameters('streamPublisherPrincipalId')]", ArmExpression.ModuleParameter(bicep.Template, Module, "streamPublisherPrincipalId"));
    }

    /// <summary>The app only sends alerts: no receive or delete on the queue its consumers read.</summary>
    [Fact]
    public void RoleAssignments_StreamAlertsQueue_AppMaySendOnly()
    {
        var grant = Assert.Single(Grants(), g => g.Scope == $"{DataAccount}/queues/{AzureContract.StreamAlertsQueue}");

        Assert.Equal(("app", StorageQueueDataMessageSender), (grant.Principal, grant.Role));
    }

    [Fact]
    public void RoleAssignments_Operator_ContributorOnTheDataContainersOnlyWhenSet()
    {
        var operatorGrants = Grants().Where(g => g.Principal == "operator").ToList();

        Assert.Equal(
            new HashSet<string>
            {
                $"{DataAccount}/{AzureContract.ModelsContainer}",
                $"{DataAccount}/{AzureContract.IncomingContainer}",
                $"{DataAccount}/{AzureContract.OutgoingContainer}",
                $"{DataAccount}/{AzureContract.FailedContainer}",
                $"{DataAccount}/{AzureContract.DeadLetterContainer}",
                $"{DataAccount}/{AzureContract.PredictionsContainer}",
            },
            operatorGrants.Select(g => g.Scope).ToHashSet());
        Assert.All(operatorGrants, g =>
        {
            Assert.Equal(StorageBlobDataContributor, g.Role);
            Assert.Equal("[not(empty(parameters('operatorPrincipalId')))]", g.Condition);
        });
    }

    [Fact]
    public void RoleAssignments_All_InOneModuleWithServicePrincipalTypesForIdentities()
    {
        var assignments = ArmTemplate.OfType(bicep.Template, "Microsoft.Authorization/roleAssignments");

        Assert.All(assignments, a => Assert.Equal(Module, a.Module));
        string[] people = ["[parameters('operatorPrincipalId')]", "[parameters('streamPublisherPrincipalId')]"];
        Assert.All(
            assignments.Where(a => !people.Contains(a.Properties!["principalId"]!.ToString())),
            a => Assert.Equal("ServicePrincipal", a.Properties!["principalType"]!.GetValue<string>()));
        // 16 for the app (its capture grant included), 1 for each topic, 1 copy loop for the operator, 1 for the stream's publisher.
        Assert.Equal(20, assignments.Count);
    }

    /// <summary>The capture role creates blobs and nothing else: no read, list or delete, no control-plane action.</summary>
    [Fact]
    public void CaptureWriterRole_OnlyBlobWrite_AssignableInTheResourceGroupOnly()
    {
        var role = Assert.Single(ArmTemplate.OfType(bicep.Template, "Microsoft.Authorization/roleDefinitions"));
        var properties = role.Properties!;
        var permission = Assert.Single(properties["permissions"]!.AsArray())!;

        Assert.Equal(Module, role.Module);
        Assert.Equal("CustomRole", properties["type"]!.GetValue<string>());
        Assert.Equal(["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"], permission["dataActions"]!.AsArray().Select(a => a!.GetValue<string>()));
        Assert.Empty(permission["actions"]!.AsArray());
        Assert.Equal(["[resourceGroup().id]"], properties["assignableScopes"]!.AsArray().Select(a => a!.GetValue<string>()));
        var grant = Assert.Single(Grants(), g => g.Role == CaptureWriter);
        Assert.Equal(("app", $"{DataAccount}/{AzureContract.CaptureContainer}"), (grant.Principal, grant.Scope));
    }

    [Fact]
    public void RoleAssignments_Module_AppGetsTheUserAssignedIdentityPrincipal()
    {
        Assert.Equal(("identity", "principalId"), ArmExpression.ModuleOutput(ArmExpression.ModuleParameter(bicep.Template, Module, "appPrincipalId")));
        Assert.Single(ArmTemplate.OfType(bicep.Template, "Microsoft.ManagedIdentity/userAssignedIdentities"));
    }

    private sealed record Grant(string Principal, string Scope, string Role, string? Condition);

    private List<Grant> Grants()
    {
        var grants = new List<Grant>();
        foreach (var assignment in ArmTemplate.OfType(bicep.Template, "Microsoft.Authorization/roleAssignments"))
        {
            var principal = assignment.Properties!["principalId"]!.GetValue<string>() switch
            {
                "[parameters('appPrincipalId')]" => "app",
                "[parameters('eventGridPrincipalId')]" => "topic",
                "[parameters('operatorPrincipalId')]" => "operator",
                "[parameters('streamTopicPrincipalId')]" => "stream-topic",
                "[parameters('streamPublisherPrincipalId')]" => "publisher",
                var other => other,
            };
            var role = RoleId(assignment);
            foreach (var scope in Scopes(assignment))
            {
                grants.Add(new Grant(principal, scope, role, assignment.Condition));
            }
        }

        return grants;
    }

    // One scope, or one per element of the copy loop's array.
    private IEnumerable<string> Scopes(ArmResource assignment)
    {
        var scope = assignment.Scope ?? throw new InvalidOperationException("A role assignment without a scope.");
        if (scope.StartsWith("[resourceId('Microsoft.Insights/components'", StringComparison.Ordinal))
        {
            return ["appinsights"];
        }

        if (scope == "[resourceId('Microsoft.EventGrid/topics', parameters('streamTopicName'))]")
        {
            return [ArmExpression.ModuleOutput(ArmExpression.ModuleParameter(bicep.Template, Module, "streamTopicName")) == ("stream-topic", "name") ? "stream-topic" : scope];
        }

        var match = StorageScope().Match(scope);
        if (!match.Success)
        {
            throw new InvalidOperationException($"Unexpected role assignment scope: {scope}");
        }

        var account = AccountModule(match.Groups["account"].Value);
        var type = match.Groups["type"].Value;
        if (type == "Microsoft.Storage/storageAccounts")
        {
            return [account];
        }

        var children = match.Groups["child"].Value switch
        {
            "variables('operatorContainers')[copyIndex()]" =>
                assignment.Variable("operatorContainers")!.AsArray().Select(n => ModuleValue(n!.GetValue<string>())),
            var child => [ModuleValue($"[{child}]")],
        };
        return type switch
        {
            "Microsoft.Storage/storageAccounts/blobServices/containers" => children.Select(c => $"{account}/{c}"),
            "Microsoft.Storage/storageAccounts/queueServices/queues" => children.Select(q => $"{account}/queues/{q}"),
            _ => throw new InvalidOperationException($"Unexpected scope type {type}"),
        };
    }

    // parameters('hostStorageAccountName') → "host-storage": the storage module whose output main.bicep passed in.
    private string AccountModule(string parameterExpression)
    {
        var source = ArmExpression.ModuleOutput(ArmExpression.ModuleParameterValue(bicep.Template, Module, $"[{parameterExpression}]"));
        return source is { Output: "name", Module: HostAccount or DataAccount }
            ? source.Value.Module
            : throw new InvalidOperationException($"{parameterExpression} is not a storage module's name.");
    }

    private string ModuleValue(string expression) => ArmExpression.ModuleParameterValue(bicep.Template, Module, expression);

    // "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', variables('roles').storageBlobDataOwner)]" → the GUID.
    private static string RoleId(ArmResource assignment)
    {
        var definition = assignment.Properties!["roleDefinitionId"]!.GetValue<string>();
        const string Marker = "variables('roles').";
        if (!definition.Contains(Marker, StringComparison.Ordinal))
        {
            // A custom role of the template: named by its own expression.
            return definition;
        }

        var start = definition.IndexOf(Marker, StringComparison.Ordinal) + Marker.Length;
        return assignment.Variable("roles")![definition[start..definition.IndexOf(')', start)]]!.GetValue<string>();
    }

    // "[resourceId('<type>', parameters('<account>')[, 'default', <child>])]"
    [GeneratedRegex(@"^\[resourceId\('(?<type>Microsoft\.Storage/[^']+)', (?<account>parameters\('[^']+'\))(, 'default', (?<child>.+))?\)\]$")]
    private static partial Regex StorageScope();
}

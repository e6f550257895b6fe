using Serverless.Functions.Aws;
using Serverless.Functions.Azure;
using Serverless.Infra.Aws.Constructs;

namespace Serverless.Infra.Tests.Drift;

/// <summary>
/// The names the adapters read against the names the templates provision. The AWS stack compiles
/// LambdaContract.cs in (one source of truth); Bicep cannot, so main.bicep's names are compared here and
/// in the Azure template tests, which read AzureContract.cs compiled into this project.
/// </summary>
public sealed class ContractDriftTests
{
    [Fact]
    public async Task MainBicep_AdapterNames_AreTheContractValues()
    {
        var bicep = await File.ReadAllTextAsync(Support.InfraPaths.AzureMainTemplate);

        Assert.Contains($"var storageConnectionName = '{AzureContract.StorageConnection}'", bicep, StringComparison.Ordinal);
        Assert.Contains($"var modelsContainer = '{AzureContract.ModelsContainer}'", bicep, StringComparison.Ordinal);
        Assert.Contains($"var incomingContainer = '{AzureContract.IncomingContainer}'", bicep, StringComparison.Ordinal);
        Assert.Contains($"var outgoingContainer = '{AzureContract.OutgoingContainer}'", bicep, StringComparison.Ordinal);
        Assert.Contains($"var failedContainer = '{AzureContract.FailedContainer}'", bicep, StringComparison.Ordinal);
        Assert.Contains($"var scoreBlobFunction = '{AzureContract.ScoreBlobFunction}'", bicep, StringComparison.Ordinal);
        Assert.Contains($"var routePrefix = '{AzureContract.RoutePrefix}'", bicep, StringComparison.Ordinal);
        Assert.Contains($"var warmupModelsSettingName = '{AzureContract.WarmupModelsSetting}'", bicep, StringComparison.Ordinal);
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

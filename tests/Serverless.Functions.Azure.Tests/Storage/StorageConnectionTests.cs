using Microsoft.Extensions.Azure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Functions.Azure.Storage;

namespace Serverless.Functions.Azure.Tests.Storage;

/// <summary>The named connection resolves from the same settings the blob trigger reads.</summary>
public sealed class StorageConnectionTests : IDisposable
{
    private readonly ServiceProvider _services = ServicesWithAzureClients();

    public void Dispose() => _services.Dispose();

    [Fact]
    public void CreateBlobServiceClient_DevelopmentStorage_AzuriteDefaultAccount()
    {
        var client = Create(new() { ["InferenceStorage"] = "UseDevelopmentStorage=true" });

        Assert.Equal("devstoreaccount1", client.AccountName);
        Assert.Equal("http://127.0.0.1:10000/devstoreaccount1", client.Uri.ToString().TrimEnd('/'));
    }

    [Theory]
    [InlineData("InferenceStorage:serviceUri")]
    [InlineData("InferenceStorage:blobServiceUri")]
    public void CreateBlobServiceClient_ServiceUriWithManagedIdentity_ClientForThatAccount(string key)
    {
        var client = Create(new()
        {
            [key] = "https://inferencedata.blob.core.windows.net",
            ["InferenceStorage:credential"] = "managedidentity",
            ["InferenceStorage:clientId"] = "00000000-0000-0000-0000-000000000001",
        });

        Assert.Equal("inferencedata", client.AccountName);
        Assert.Equal("https://inferencedata.blob.core.windows.net/", client.Uri.ToString());
    }

    [Fact]
    public void CreateBlobServiceClient_AzureWebJobsPrefixedSetting_TakesPrecedence()
    {
        var client = Create(new()
        {
            ["AzureWebJobsInferenceStorage:serviceUri"] = "https://prefixed.blob.core.windows.net",
            ["InferenceStorage:serviceUri"] = "https://plain.blob.core.windows.net",
        });

        Assert.Equal("prefixed", client.AccountName);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("not a uri")]
    public void CreateBlobServiceClient_NotConfigured_SaysWhichSettingToSet(string? serviceUri)
    {
        var error = Assert.Throws<InvalidOperationException>(() => Create(new() { ["InferenceStorage:serviceUri"] = serviceUri }));

        Assert.Contains("InferenceStorage__serviceUri", error.Message, StringComparison.Ordinal);
    }

    private static ServiceProvider ServicesWithAzureClients()
    {
        var services = new ServiceCollection();
        services.AddAzureClientsCore();
        return services.BuildServiceProvider();
    }

    private global::Azure.Storage.Blobs.BlobServiceClient Create(Dictionary<string, string?> settings) =>
        StorageConnection.CreateBlobServiceClient(
            new ConfigurationBuilder().AddInMemoryCollection(settings).Build(),
            _services.GetRequiredService<AzureComponentFactory>(),
            AzureContract.StorageConnection);
}

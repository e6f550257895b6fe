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

    [Fact]
    public void Resolve_ConnectionString_BlobsAndQueuesOfThatAccountCopiesSignedWithTheKey()
    {
        var endpoints = Resolve(new() { ["InferenceStorage"] = "UseDevelopmentStorage=true" });

        Assert.Equal("http://127.0.0.1:10001/devstoreaccount1", endpoints.Queues.Value.Uri.ToString().TrimEnd('/'));
        Assert.Equal("sas", endpoints.CopySource.Kind);
        Assert.True(endpoints.CopySource.CanCopy);
    }

    [Fact]
    public void Resolve_ConnectionStringWithASasInsteadOfAKey_NoServerSideCopies()
    {
        var endpoints = Resolve(new() { ["InferenceStorage"] = "BlobEndpoint=https://inferencedata.blob.core.windows.net/;SharedAccessSignature=sv=2026-06-06&sig=x" });

        Assert.False(endpoints.CopySource.CanCopy);
    }

    [Fact]
    public void Resolve_ManagedIdentity_QueueServiceUriAndCopiesAuthorisedWithTheIdentitysToken()
    {
        var endpoints = Resolve(new()
        {
            ["InferenceStorage:blobServiceUri"] = "https://inferencedata.blob.core.windows.net",
            ["InferenceStorage:queueServiceUri"] = "https://inferencedata.queue.core.windows.net",
            ["InferenceStorage:credential"] = "managedidentity",
        });

        Assert.Equal("https://inferencedata.queue.core.windows.net/", endpoints.Queues.Value.Uri.ToString());
        Assert.Equal("oauth", endpoints.CopySource.Kind);
    }

    [Fact]
    public void Resolve_NoQueueServiceUri_BlobsStillWorkTheQueueSaysWhichSettingToSet()
    {
        var endpoints = Resolve(new() { ["InferenceStorage:blobServiceUri"] = "https://inferencedata.blob.core.windows.net" });

        Assert.Equal("inferencedata", endpoints.Blobs.AccountName);
        var error = Assert.Throws<InvalidOperationException>(() => endpoints.Queues.Value);
        Assert.Contains("InferenceStorage__queueServiceUri", error.Message, StringComparison.Ordinal);
    }

    private StorageConnection.Endpoints Resolve(Dictionary<string, string?> settings) =>
        StorageConnection.Resolve(
            new ConfigurationBuilder().AddInMemoryCollection(settings).Build(),
            _services.GetRequiredService<AzureComponentFactory>(),
            AzureContract.StorageConnection);

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

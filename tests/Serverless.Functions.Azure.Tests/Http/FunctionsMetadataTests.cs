using System.Text.Json;

namespace Serverless.Functions.Azure.Tests.Http;

/// <summary>
/// The SDK-generated functions.metadata is what the Functions host reads to register triggers: routes, methods,
/// auth levels, the blob trigger's Event Grid source and the queue trigger's queue are asserted there, not on attributes.
/// </summary>
public sealed class FunctionsMetadataTests
{
    private static readonly Lazy<JsonElement[]> Functions = new(() =>
    {
        var path = Path.Combine(AppContext.BaseDirectory, "app", "functions.metadata");
        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        return [.. document.RootElement.EnumerateArray().Select(f => f.Clone())];
    });

    [Fact]
    public void Metadata_ListsExactlyTheAppsFunctions()
    {
        Assert.Equal(["HealthLive", "HealthReady", "OpenInference", AzureContract.ScoreBlobFunction, AzureContract.ScoreShardFunction, AzureContract.ScoreStreamFunction, AzureContract.SweepIncomingFunction], Functions.Value.Select(f => f.GetProperty("name").GetString()).Order(StringComparer.Ordinal));
        Assert.All(Functions.Value, f => Assert.Equal("dotnet-isolated", f.GetProperty("language").GetString()));
        Assert.All(Functions.Value, f => Assert.Equal("Serverless.Functions.Azure.dll", f.GetProperty("scriptFile").GetString()));
    }

    [Theory]
    [InlineData("HealthLive", "health/live", "Anonymous", new[] { "get" })]
    [InlineData("HealthReady", "health/ready", "Anonymous", new[] { "get" })]
    [InlineData("OpenInference", "{*path}", "Function", new[] { "get", "post" })]
    // Event Grid's handshake is an OPTIONS request to the same URL, function key included.
    [InlineData(AzureContract.ScoreStreamFunction, AzureContract.StreamRoute, "Function", new[] { "post", "options" })]
    public void Metadata_HttpTrigger_RouteMethodsAndAuthLevel(string function, string route, string authLevel, string[] methods)
    {
        var trigger = Assert.Single(Binding(function), b => b.GetProperty("type").GetString() == "httpTrigger");

        Assert.Equal(route, trigger.GetProperty("route").GetString());
        Assert.Equal(authLevel, trigger.GetProperty("authLevel").GetString());
        Assert.Equal(methods, trigger.GetProperty("methods").EnumerateArray().Select(m => m.GetString()));
    }

    [Fact]
    public void Metadata_ScoreBlob_EventGridBlobTriggerOnIncomingWithTheNamedConnection()
    {
        var trigger = Assert.Single(Binding(AzureContract.ScoreBlobFunction));

        Assert.Equal("blobTrigger", trigger.GetProperty("type").GetString());
        Assert.Equal("In", trigger.GetProperty("direction").GetString());
        Assert.Equal($"{AzureContract.IncomingContainer}/{{name}}", trigger.GetProperty("path").GetString());
        Assert.Equal(AzureContract.StorageConnection, trigger.GetProperty("connection").GetString());
        Assert.Equal("EventGrid", trigger.GetProperty("source").GetString());
        Assert.Equal("True", trigger.GetProperty("properties").GetProperty("supportsDeferredBinding").GetString());
    }

    [Fact]
    public void Metadata_SweepIncoming_TimerTriggerOnTheScheduleSetting()
    {
        var trigger = Assert.Single(Binding(AzureContract.SweepIncomingFunction));

        Assert.Equal("timerTrigger", trigger.GetProperty("type").GetString());
        Assert.Equal($"%{AzureContract.SweepScheduleSetting}%", trigger.GetProperty("schedule").GetString());
    }

    [Fact]
    public void Metadata_ScoreShard_QueueTriggerOnTheShardQueueWithTheNamedConnectionAsText()
    {
        var trigger = Assert.Single(Binding(AzureContract.ScoreShardFunction));

        Assert.Equal("queueTrigger", trigger.GetProperty("type").GetString());
        Assert.Equal("In", trigger.GetProperty("direction").GetString());
        Assert.Equal(AzureContract.ShardQueue, trigger.GetProperty("queueName").GetString());
        Assert.Equal(AzureContract.StorageConnection, trigger.GetProperty("connection").GetString());
        // The host decodes the message and passes its text: the shard message's JSON.
        Assert.Equal("String", trigger.GetProperty("dataType").GetString());
        Assert.Equal(AzureContract.ShardQueue + "-poison", AzureContract.ShardPoisonQueue);
    }

    /// <summary>
    /// One shard at a time per instance (a shard already uses the instance's cores), so instances = messages, up to the
    /// plan's maximum; the host gives up on a message only after the runner would have failed the file.
    /// </summary>
    [Fact]
    public void HostJson_Queues_OneShardPerInstanceAndMoreDeliveriesThanTheRunnersAttempts()
    {
        using var host = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "host.json")));
        var queues = host.RootElement.GetProperty("extensions").GetProperty("queues");
        var defaults = Serverless.Functions.Azure.Hosting.InferenceSettings.From(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build());

        Assert.Equal((1, 0), (queues.GetProperty("batchSize").GetInt32(), queues.GetProperty("newBatchThreshold").GetInt32()));
        Assert.True(queues.GetProperty("maxDequeueCount").GetInt32() > defaults.MaxAttempts);
        Assert.InRange(TimeSpan.Parse(queues.GetProperty("visibilityTimeout").GetString()!, System.Globalization.CultureInfo.InvariantCulture), TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5));
        Assert.Equal("base64", queues.GetProperty("messageEncoding").GetString());
        Assert.Equal(global::Azure.Storage.Queues.QueueMessageEncoding.Base64, Serverless.Functions.Azure.Storage.StorageConnection.QueueOptions().MessageEncoding);
    }

    [Fact]
    public void HostJson_FunctionTimeoutIsTheBatchRunnersDeadline()
    {
        using var host = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "host.json")));

        Assert.Equal(Serverless.Functions.Azure.Hosting.InferenceSettings.FunctionTimeout, TimeSpan.Parse(host.RootElement.GetProperty("functionTimeout").GetString()!, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void HostJson_RoutePrefixIsTheContractsPrefix()
    {
        using var host = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "host.json")));

        Assert.Equal(AzureContract.RoutePrefix, host.RootElement.GetProperty("extensions").GetProperty("http").GetProperty("routePrefix").GetString());
        Assert.Equal("2.0", host.RootElement.GetProperty("version").GetString());
    }

    private static JsonElement[] Binding(string function) =>
        [.. Functions.Value.Single(f => f.GetProperty("name").GetString() == function).GetProperty("bindings").EnumerateArray()];
}
